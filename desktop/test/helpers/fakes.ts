// A clock and a UDP channel that tests drive by hand: keepalive timing without waiting, and
// datagrams delivered (or replayed, or tampered with) exactly when a test says.

import { decodeClientDatagram, type Clock, type DatagramChannel } from '../../src/protocol';

export class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

export class FakeChannel implements DatagramChannel {
  sent: { at: number; data: Uint8Array }[] = [];
  closed = false;
  private handler: ((data: Uint8Array) => void) | undefined;
  constructor(private readonly clock: FakeClock) {}
  send(data: Uint8Array): Promise<void> {
    this.sent.push({ at: this.clock.now(), data });
    return Promise.resolve();
  }
  onMessage(handler: (data: Uint8Array) => void): void {
    this.handler = handler;
  }
  onError(): void {}
  close(): void {
    this.closed = true;
  }
  deliver(data: Uint8Array): void {
    this.handler?.(data);
  }
  kinds(): string[] {
    return this.sent.map((s) => decodeClientDatagram(s.data).kind);
  }
}
