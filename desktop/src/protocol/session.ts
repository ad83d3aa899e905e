// ChatSession: one membership of one room. openChatSession() runs the handshake over TCP, then
// the session speaks UDP: keepalives (§7.1, §7.2), notices (§6.3), chat text, leave (§7.3).
//
// Layers, from the wire up: Transport (bytes) → SessionCrypto (encrypted by default, §12) →
// framing (tcrp.ts, datagram.ts) → this file (what happens when).

import { abortable, encryptedCrypto, type DatagramCipher, type HandshakeCrypto, type SessionCrypto, type SessionSecurity } from './crypto';
import { decodeServerDatagram, KEEPALIVE_MESSAGE, LEAVE_MESSAGE, type Notice } from './datagram';
import { Emitter } from './emitter';
import { HandshakeError, ProtocolError, SendError } from './errors';
import { serverId } from './fingerprint';
import { runHandshake, type HandshakeOutcome } from './handshake';
import { ipFamily } from './ip-address';
import { maxTextBytesFor } from './limits';
import { checkRequest, type HandshakeRequest } from './payloads';
import { Operation } from './tcrp';
import { nodeTransport, type DatagramChannel, type TcpConnection, type Transport } from './transport';
import { encodeUtf8, isWellFormed, utf8Length } from './utf8';

/**
 * The keepalive rule of docs/protocol.md §7.5, with the same numbers as libchat::client_session
 * (chat-client): 1 s apart until the first pong, giving up after 5 unanswered; then every 15 s,
 * giving up after 3 in a row unanswered.
 */
export interface KeepaliveSettings {
  /** Between keepalives until the first pong (default 1 s). */
  initialIntervalMs: number;
  /** Keepalives without a pong, before the first one, after which the server is taken not to answer on UDP (default 5). */
  bindAttempts: number;
  /** Between keepalives once a member (default 15 s). */
  intervalMs: number;
  /** Keepalives in a row without a pong after which the server is taken to be gone (default 3). */
  maxMissed: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveSettings = { initialIntervalMs: 1000, bindAttempts: 5, intervalMs: 15000, maxMissed: 3 };

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ConnectOptions {
  host: string;
  port: number;
  operation: 'create' | 'join';
  room: string;
  username: string;
  password?: string;
  /** Covers the TCP connect and the whole handshake (default 10 s). */
  handshakeTimeoutMs?: number;
  keepalive?: Partial<KeepaliveSettings>;
  /**
   * How the session is protected. Default: encryptedCrypto() without a trust check (whatever key
   * the server presents is used); an app passes encryptedCrypto({ trust }) with its pins, or
   * plaintextCrypto for a server started with --allow-plaintext.
   */
  crypto?: SessionCrypto;
  transport?: Transport;
  clock?: Clock;
}

export type EndReason =
  /** This client left (leave() or close()). */
  | 'left'
  /** The host left or was removed (`room_closed`); `detail` has the server's reason. */
  | 'room_closed'
  /** This member was removed for silence or unreachability (`timeout`). */
  | 'timeout'
  | 'server_shutdown'
  /** maxMissed keepalives in a row got no pong. */
  | 'server_silent'
  /** The session's key sealed all it may (2^26 datagrams, §12.4): join again for fresh keys. */
  | 'key_spent';

export interface SessionEvents {
  /** Chat text relayed from another member. `time` is when it arrived (ms since the epoch). */
  message: { from: string; text: string; time: number };
  /** The first pong: the server knows this client's address; it is a member now. */
  member: { time: number };
  joined: { user: string; time: number };
  left: { user: string; reason: string; time: number };
  /** One part of the list of who is in the room (§6.6), sent after the first pong. */
  members: { users: string[]; host: string; part: number; parts: number; time: number };
  /** The server refused this client's last message (`error` notice, e.g. too_long). */
  refused: { error: string; time: number };
  /** A notice this client does not know (shown neutrally). */
  unknownNotice: { name: string; time: number };
  /** A datagram from the server that breaks the spec; it was dropped. */
  malformed: { message: string; time: number };
  /**
   * A sealed datagram that was dropped before anyone saw it: `replay` (seen before, or too old),
   * `auth_failed` (not sealed with this session's key, or altered), `malformed` (too short to be
   * sealed), `key_limit` (a counter more than one key update ahead).
   */
  dropped: { reason: 'replay' | 'auth_failed' | 'malformed' | 'key_limit'; time: number };
  /** The session is over; nothing more will be emitted. */
  ended: { reason: EndReason; detail: string; time: number };
}

export interface SessionInfo {
  room: string;
  username: string;
  host: boolean;
  created: boolean;
  serverAddress: string;
  udpPort: number;
  acceptedMessage: string;
  /** Encrypted or not; for encrypted sessions the server's key fingerprint and how it was trusted. */
  security: SessionSecurity;
}

export class ChatSession extends Emitter<SessionEvents> {
  private ended = false;
  private isMember = false;
  private missed = 0;
  private pongSinceLastKeepalive = false;
  private timer: unknown;
  private readonly keepalive: KeepaliveSettings;
  private readonly usernameBytes: number;
  private readonly roomBytes: Uint8Array;

  constructor(
    readonly info: SessionInfo,
    private readonly channel: DatagramChannel,
    private readonly cipher: DatagramCipher,
    private readonly clock: Clock = systemClock,
    keepalive: Partial<KeepaliveSettings> = {},
  ) {
    super();
    this.keepalive = { ...DEFAULT_KEEPALIVE, ...keepalive };
    this.usernameBytes = utf8Length(info.username);
    this.roomBytes = encodeUtf8(info.room);
    channel.onMessage((data) => this.receive(data));
    channel.onError(() => {
      /* ICMP reports and the like: the keepalives tell when the server is really gone. */
    });
  }

  /** Sends the first keepalive (it makes this client a member) and starts the keepalive timer. */
  start(): void {
    this.sendKeepalive();
  }

  get member(): boolean {
    return this.isMember;
  }

  get active(): boolean {
    return !this.ended;
  }

  /** The longest text, in UTF-8 bytes, this member may send (§6.4), with the datagram limit too. */
  get maxTextBytes(): number {
    return Math.min(maxTextBytesFor(this.usernameBytes), this.cipher.maxMessageBytes(this.roomBytes.length));
  }

  /** Datagrams sealed so far with this session's key (every datagram counts: keepalives too). */
  get datagramsSent(): number {
    return this.cipher.sent;
  }

  /** Sends chat text. Throws SendError when it is refused locally (empty, too long, not encodable). */
  async send(text: string): Promise<number> {
    if (this.ended) throw new SendError('not_connected', 'You are not in a room any more.');
    if (text.length === 0) throw new SendError('empty', 'There is nothing to send.');
    if (!isWellFormed(text)) throw new SendError('invalid_text', 'The message contains characters that cannot be encoded.');
    if (text.charCodeAt(0) === 0) throw new SendError('invalid_text', 'A message cannot start with a NUL character.');
    const bytes = encodeUtf8(text);
    const limit = this.maxTextBytes;
    if (bytes.length > limit) {
      throw new SendError('too_long', `The message is too long: ${bytes.length} bytes, at most ${limit} can be sent.`, limit);
    }
    await this.sendMessage(bytes);
    return this.clock.now();
  }

  /** Leaves the room (control `leave`) and ends the session. */
  async leave(): Promise<void> {
    if (this.ended) return;
    let sent: Promise<void> = Promise.resolve();
    try {
      sent = this.sendMessage(LEAVE_MESSAGE);
    } catch (e) {
      // A spent key cannot seal the leave: the server removes the member by itself.
      if (!(e instanceof SendError)) throw e;
    }
    this.finish('left', '', false);
    await sent;
    this.channel.close();
  }

  /** Ends the session without telling the server (use leave() to tell it). */
  close(): void {
    this.finish('left', '', true);
  }

  /** Seals and sends one message. Throws SendError; a spent key also ends the session. */
  private sendMessage(message: Uint8Array): Promise<void> {
    let datagram: Uint8Array;
    try {
      datagram = this.cipher.seal(this.roomBytes, message);
    } catch (e) {
      if (e instanceof SendError && e.code === 'key_spent') this.finish('key_spent', '', true);
      throw e;
    }
    return this.channel.send(datagram);
  }

  private sendKeepalive(): void {
    if (this.ended) return;
    this.pongSinceLastKeepalive = false;
    try {
      void this.sendMessage(KEEPALIVE_MESSAGE);
    } catch (e) {
      if (e instanceof SendError) return; // the session ended (key spent)
      throw e;
    }
    this.arm(this.isMember ? this.keepalive.intervalMs : this.keepalive.initialIntervalMs);
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.keepaliveDue();
    }, ms);
  }

  private keepaliveDue(): void {
    if (this.ended) return;
    if (!this.pongSinceLastKeepalive) {
      this.missed++;
      if (this.missed >= (this.isMember ? this.keepalive.maxMissed : this.keepalive.bindAttempts)) {
        const detail = this.isMember
          ? 'The server stopped answering.'
          : 'The server did not answer over UDP (is the UDP port reachable?).';
        this.finish('server_silent', detail, true);
        return;
      }
    }
    this.sendKeepalive();
  }

  private receive(wire: Uint8Array): void {
    if (this.ended) return;
    const time = this.clock.now();
    const opened = this.cipher.open(wire);
    if (!opened.ok) {
      // Dropped unseen, as the server drops what fails (§12.4): never shown as text, never acted on.
      this.emit('dropped', { reason: opened.reason, time });
      return;
    }
    const data = opened.datagram;
    let decoded;
    try {
      decoded = decodeServerDatagram(data);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.emit('malformed', { message: `The server sent a malformed datagram (${e.message}); it was dropped.`, time });
      return;
    }
    if (decoded.kind === 'chat') {
      this.emit('message', { from: decoded.sender, text: decoded.text, time });
      return;
    }
    this.notice(decoded.notice, time);
  }

  private notice(notice: Notice, time: number): void {
    switch (notice.event) {
      case 'pong':
        this.missed = 0;
        this.pongSinceLastKeepalive = true;
        if (!this.isMember) {
          this.isMember = true;
          this.arm(this.keepalive.intervalMs);
          this.emit('member', { time });
        }
        return;
      case 'joined':
        this.emit('joined', { user: notice.user, time });
        return;
      case 'left':
        this.emit('left', { user: notice.user, reason: notice.reason, time });
        return;
      case 'error':
        this.emit('refused', { error: notice.error, time });
        return;
      case 'members':
        this.emit('members', { users: notice.users, host: notice.host, part: notice.part, parts: notice.parts, time });
        return;
      case 'timeout':
        this.finish('timeout', '', true);
        return;
      case 'room_closed':
        this.finish('room_closed', notice.reason, true);
        return;
      case 'server_shutdown':
        this.finish('server_shutdown', '', true);
        return;
      case 'unknown':
        this.emit('unknownNotice', { name: notice.name, time });
        return;
    }
  }

  private finish(reason: EndReason, detail: string, closeChannel: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (closeChannel) this.channel.close();
    this.cipher.dispose();
    this.emit('ended', { reason, detail, time: this.clock.now() });
    this.removeAllListeners();
  }
}

/**
 * Connects, runs the handshake, opens the UDP side and starts the session (its first keepalive
 * is sent at once). Rejects with HandshakeError; its message is a sentence for a person.
 */
export async function openChatSession(options: ConnectOptions): Promise<ChatSession> {
  const operation = options.operation === 'create' ? Operation.create : Operation.join;
  const request: HandshakeRequest = { operation, room: options.room, username: options.username };
  if (options.password !== undefined && options.password !== '') request.password = options.password;
  checkRequest(request);

  const transport = options.transport ?? nodeTransport;
  const crypto = options.crypto ?? encryptedCrypto();
  const timeoutMs = options.handshakeTimeoutMs ?? 10000;
  const where = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;

  // One deadline for everything: the key's own connection (encrypted), the request's, the replies.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new HandshakeError('handshake_timeout', `The server at ${where} did not answer in time.`)), timeoutMs);
  let tcp: TcpConnection | undefined;
  let handshake: HandshakeCrypto | undefined;
  let outcome: HandshakeOutcome;
  try {
    const connect = async (): Promise<TcpConnection> => {
      try {
        return await transport.connectTcp(options.host, options.port, abort.signal);
      } catch (e) {
        if (e instanceof HandshakeError) throw e;
        throw new HandshakeError('connect_failed', connectFailure(where, e), undefined, 'server');
      }
    };
    const context = {
      host: options.host,
      port: options.port,
      serverId: serverId(options.host, options.port),
      where,
      operation,
      room: encodeUtf8(options.room),
      signal: abort.signal,
      // The key's own connection fails (and times out) like the request's.
      transport: { connectTcp: () => connect(), openDatagramChannel: transport.openDatagramChannel.bind(transport) },
    };
    handshake = await abortable(crypto.begin(context), abort.signal);
    tcp = await connect();
    outcome = await abortable(runHandshake(tcp, request, handshake), abort.signal);
  } catch (e) {
    handshake?.abandon();
    // A key pinned on first contact stays pinned when the request then fails (a wrong password,
    // say): say so with the error, since no chat view will.
    const security = handshake?.security;
    if (e instanceof HandshakeError && security?.encrypted && security.note !== undefined && security.pin !== 'known') {
      throw new HandshakeError(e.code, e.message, e.status, e.field, [...e.details, security.note]);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    tcp?.close(); // §3.3: the client closes after the last frame
  }

  const completion = outcome.completion;
  await handshake.completed?.(completion);
  const cipher = handshake.datagramCipher(completion);
  let channel: DatagramChannel;
  try {
    // Cluster mode: the room's node, which the completion names; otherwise the server we reached.
    const udpAddress = completion.udpHost ?? tcp.remoteAddress;
    const udpFamily = completion.udpHost !== undefined ? (ipFamily(completion.udpHost) ?? tcp.family) : tcp.family;
    channel = await transport.openDatagramChannel(udpAddress, udpFamily, completion.udpPort);
  } catch (e) {
    cipher.dispose();
    throw new HandshakeError('connect_failed', `Could not open a UDP socket for the chat: ${e instanceof Error ? e.message : String(e)}.`);
  }
  const session = new ChatSession(
    {
      room: options.room,
      username: options.username,
      host: completion.host,
      created: completion.status === 201,
      serverAddress: tcp.remoteAddress,
      udpPort: completion.udpPort,
      acceptedMessage: outcome.acceptedMessage,
      security: handshake.security,
    },
    channel,
    cipher,
    options.clock,
    options.keepalive,
  );
  session.start();
  return session;
}

function connectFailure(where: string, error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `Nothing is listening at ${where}. Is chat-server running there?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The server name in ${where} could not be found.`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `The server at ${where} cannot be reached.`;
    default:
      return `Could not connect to ${where}${error instanceof Error ? `: ${error.message}` : ''}.`;
  }
}
