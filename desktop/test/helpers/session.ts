// Waiting for ChatSession events in tests.

import type { ChatSession, SessionEvents } from '../../src/protocol';

/** Records every event of a session, so a test can wait for one that already happened. */
export class Recorder {
  readonly seen: { name: keyof SessionEvents; value: unknown }[] = [];
  private waiters: { name: keyof SessionEvents; match: (v: never) => boolean; resolve: (v: unknown) => void }[] = [];

  constructor(session: ChatSession) {
    const names: (keyof SessionEvents)[] = ['message', 'member', 'joined', 'left', 'members', 'refused', 'unknownNotice', 'malformed', 'dropped', 'ended'];
    for (const name of names) {
      session.on(name, (value) => {
        this.seen.push({ name, value });
        this.waiters = this.waiters.filter((w) => {
          if (w.name !== name || !w.match(value as never)) return true;
          w.resolve(value);
          return false;
        });
      });
    }
  }

  waitFor<K extends keyof SessionEvents>(
    name: K,
    match: (value: SessionEvents[K]) => boolean = () => true,
    ms = 10000,
  ): Promise<SessionEvents[K]> {
    const seen = this.seen.find((e) => e.name === name && match(e.value as SessionEvents[K]));
    if (seen) return Promise.resolve(seen.value as SessionEvents[K]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(name)}; saw ${JSON.stringify(this.seen)}`)), ms);
      this.waiters.push({
        name,
        match: match as (v: never) => boolean,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as SessionEvents[K]);
        },
      });
    });
  }

  count(name: keyof SessionEvents): number {
    return this.seen.filter((e) => e.name === name).length;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
