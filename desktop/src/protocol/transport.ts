// Transports on Node's own `net` and `dgram`. They move bytes and know nothing of the protocol;
// the session reaches them through the two interfaces below, so tests can put fakes in.

import * as dgram from 'node:dgram';
import * as net from 'node:net';

/** A reliable, ordered byte stream (the TCP connection of the handshake). */
export interface ByteStream {
  write(data: Uint8Array): void;
  /** Chunks that arrived before a handler was set are delivered to it at once. */
  onData(handler: (chunk: Uint8Array) => void): void;
  /** The peer closed its side (or the connection ended). */
  onEnd(handler: () => void): void;
  onError(handler: (error: Error) => void): void;
  close(): void;
}

export interface TcpConnection extends ByteStream {
  /** The server's address as connected (a name is resolved by now), for the UDP side. */
  readonly remoteAddress: string;
  readonly family: 'IPv4' | 'IPv6';
}

/** A UDP socket connected to the server: it sends only there and receives only from there. */
export interface DatagramChannel {
  send(data: Uint8Array): Promise<void>;
  onMessage(handler: (data: Uint8Array) => void): void;
  onError(handler: (error: Error) => void): void;
  close(): void;
}

export interface Transport {
  connectTcp(host: string, port: number, signal: AbortSignal): Promise<TcpConnection>;
  openDatagramChannel(address: string, family: 'IPv4' | 'IPv6', port: number): Promise<DatagramChannel>;
}

class NodeTcpConnection implements TcpConnection {
  private pending: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private dataHandler: ((chunk: Uint8Array) => void) | undefined;
  private endHandler: (() => void) | undefined;
  private errorHandler: ((error: Error) => void) | undefined;

  constructor(
    private readonly socket: net.Socket,
    readonly remoteAddress: string,
    readonly family: 'IPv4' | 'IPv6',
  ) {
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.dataHandler) this.dataHandler(bytes);
      else this.pending.push(bytes);
    });
    socket.on('end', () => {
      this.ended = true;
      this.endHandler?.();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.errorHandler?.(error);
    });
  }

  write(data: Uint8Array): void {
    this.socket.write(data);
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
    const queued = this.pending;
    this.pending = [];
    for (const chunk of queued) handler(chunk);
  }

  onEnd(handler: () => void): void {
    this.endHandler = handler;
    if (this.ended) handler();
  }

  onError(handler: (error: Error) => void): void {
    this.errorHandler = handler;
    if (this.failure) handler(this.failure);
  }

  close(): void {
    this.socket.destroy();
  }
}

function connectTcp(host: string, port: number, signal: AbortSignal): Promise<TcpConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      const family = socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4';
      resolve(new NodeTcpConnection(socket, socket.remoteAddress ?? host, family));
    });
  });
}

class NodeDatagramChannel implements DatagramChannel {
  private closed = false;
  private messageHandler: ((data: Uint8Array) => void) | undefined;
  private errorHandler: ((error: Error) => void) | undefined;

  constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg: Buffer) => {
      this.messageHandler?.(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    });
    socket.on('error', (error) => this.errorHandler?.(error));
  }

  send(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      // A failed send is not an error of the session: UDP promises nothing, and missing pongs
      // tell when the server is really gone.
      this.socket.send(data, () => resolve());
    });
  }

  onMessage(handler: (data: Uint8Array) => void): void {
    this.messageHandler = handler;
  }

  onError(handler: (error: Error) => void): void {
    this.errorHandler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

function openDatagramChannel(address: string, family: 'IPv4' | 'IPv6', port: number): Promise<DatagramChannel> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(family === 'IPv6' ? 'udp6' : 'udp4');
    socket.once('error', reject);
    // connect() makes the kernel drop datagrams from anyone but the server's address and port.
    socket.connect(port, address, () => {
      socket.removeListener('error', reject);
      resolve(new NodeDatagramChannel(socket));
    });
  });
}

export const nodeTransport: Transport = { connectTcp, openDatagramChannel };
