// The app side of the ChatApi, shared by Electron's main process and the web bridge: it checks
// what the UI asks (the UI is untrusted input), owns at most one ChatSession, and turns session
// events into ChatEvents for the UI. Nothing here imports Electron.

import {
  encryptedCrypto,
  formatServerAddress,
  HandshakeError,
  normaliseFingerprint,
  openChatSession,
  parseServerAddress,
  plaintextCrypto,
  SendError,
  type ChatSession,
  type ConnectOptions,
  type EncryptedCryptoOptions,
  type EndReason as SessionEndReason,
  type SessionCrypto,
  type SessionSecurity,
  type PinnedFingerprint,
  type TrustServerKey,
} from '../protocol';
import type { ApiError, ApiResult, ChatEvent, ConnectRequest, RoomInfo, Security, SecurityNotice } from '../shared/api';
import type { KnownServers } from './known-servers';

/** Options for every session the controller opens (tests shorten timeouts here). */
export type SessionDefaults = Pick<ConnectOptions, 'handshakeTimeoutMs' | 'keepalive' | 'transport' | 'clock'> & {
  /** Options of encrypted sessions (tests only: fixed keys, counters). */
  encryption?: Omit<EncryptedCryptoOptions, 'trust' | 'pinned'>;
};

export interface ControllerOptions {
  session?: SessionDefaults;
  /**
   * Where server keys are pinned. Without one (no home directory), encrypted connections need the
   * fingerprint in the form.
   */
  knownServers?: KnownServers | undefined;
}

const MAX_FIELD_CHARS = 4096;
const MAX_TEXT_CHARS = 8192;

export class ChatController {
  private session: ChatSession | undefined;
  private connecting = false;
  private disposed = false;

  private readonly defaults: SessionDefaults;
  private readonly knownServers: KnownServers | undefined;

  constructor(
    private readonly emit: (event: ChatEvent) => void,
    options: ControllerOptions = {},
  ) {
    this.defaults = options.session ?? {};
    this.knownServers = options.knownServers;
  }

  async connect(raw: unknown): Promise<ApiResult<RoomInfo>> {
    const request = parseConnectRequest(raw);
    if (typeof request === 'string') return { ok: false, error: { code: 'invalid_input', message: request } };
    if (this.connecting) return { ok: false, error: { code: 'busy', message: 'Already connecting; wait for the answer.' } };
    const address = parseServerAddress(request.server);
    if (typeof address === 'string') return { ok: false, error: { code: 'invalid_input', message: address, field: 'server' } };
    const crypto = this.cryptoFor(request);
    if ('code' in crypto) return { ok: false, error: crypto };

    await this.leave();
    this.connecting = true;
    let session: ChatSession;
    try {
      const { encryption: _encryption, ...defaults } = this.defaults;
      session = await openChatSession({
        ...defaults,
        crypto,
        host: address.host,
        port: address.port,
        operation: request.operation,
        room: request.room,
        username: request.username,
        password: request.password,
      });
    } catch (e) {
      if (e instanceof HandshakeError) {
        const error: ApiError = { code: e.code, message: e.message };
        if (e.field) error.field = e.field;
        if (e.details.length > 0) error.details = [...e.details];
        return { ok: false, error };
      }
      return { ok: false, error: { code: 'internal_error', message: `Something went wrong: ${String(e)}` } };
    } finally {
      this.connecting = false;
    }
    if (this.disposed) {
      await session.leave();
      return { ok: false, error: { code: 'cancelled', message: 'The window closed.' } };
    }
    this.attach(session);
    const info = session.info;
    return {
      ok: true,
      value: {
        room: info.room,
        username: info.username,
        host: info.host,
        created: info.created,
        server: formatServerAddress(address),
        maxTextBytes: session.maxTextBytes,
        security: securityOf(info.security),
        notices: noticesFor(info.security),
      },
    };
  }

  /** The SessionCrypto for this request: encrypted with the pins (or the given fingerprint), or plaintext if asked. */
  private cryptoFor(request: ConnectRequest): SessionCrypto | ApiError {
    if (request.allowPlaintext) {
      if (request.serverKey.trim() !== '') {
        return {
          code: 'invalid_input',
          message: 'A server key fingerprint can only be checked on an encrypted connection: clear it, or untick “Allow unencrypted connection”.',
          field: 'serverKey',
        };
      }
      return plaintextCrypto;
    }
    let expected: string | undefined;
    if (request.serverKey.trim() !== '') {
      expected = normaliseFingerprint(request.serverKey);
      if (expected === undefined) {
        return {
          code: 'invalid_input',
          message: 'A server key fingerprint is “SHA256:” followed by 43 letters, digits, “+” or “/”, as chat-server prints it when it starts.',
          field: 'serverKey',
        };
      }
    }
    let trust: TrustServerKey;
    const store = this.knownServers;
    const pinned: PinnedFingerprint = async (server) => expected ?? (await store?.pinnedFingerprint(server.id));
    if (store) {
      trust = store.trust(expected, request.acceptUnpinned === true);
    } else if (expected !== undefined) {
      const wanted = expected;
      trust = async (server, key) => {
        if (key.fingerprint === wanted) return { pin: 'given', note: "The server's key matches the fingerprint you entered." };
        throw new HandshakeError(
          'server_key_mismatch',
          `The server at ${server.id} presented a different key than the fingerprint you entered, so the connection was stopped. Nothing secret was sent.`,
          undefined,
          'serverKey',
          [`Key presented: ${key.fingerprint}`, `Fingerprint you entered: ${wanted}`],
        );
      };
    } else {
      return {
        code: 'known_servers',
        message: "There is no place to remember server keys here (no home directory), so this server's key cannot be checked.",
        field: 'serverKey',
        details: ["Enter the server's key fingerprint under Advanced: chat-server prints it when it starts."],
      };
    }
    const recordNextKey = store?.recordNextKey;
    return encryptedCrypto({ ...this.defaults.encryption, trust, pinned, ...(recordNextKey ? { recordNextKey } : {}) });
  }

  async send(raw: unknown): Promise<ApiResult<{ time: number }>> {
    const text = typeof raw === 'string' ? raw : undefined;
    if (text === undefined || text.length > MAX_TEXT_CHARS * 2) {
      return { ok: false, error: { code: 'invalid_input', message: 'The message is not text, or far too long.' } };
    }
    const session = this.session;
    if (!session) return { ok: false, error: { code: 'not_connected', message: 'You are not in a room.' } };
    try {
      return { ok: true, value: { time: await session.send(text) } };
    } catch (e) {
      if (e instanceof SendError) return { ok: false, error: { code: e.code, message: e.message } };
      throw e;
    }
  }

  async leave(): Promise<ApiResult<null>> {
    const session = this.session;
    this.session = undefined;
    if (session) await session.leave();
    return { ok: true, value: null };
  }

  /** The window or WebSocket went away: leave the room, accept nothing more. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.leave();
  }

  private attach(session: ChatSession): void {
    this.session = session;
    session.on('message', (e) => this.emit({ type: 'message', from: e.from, text: e.text, time: e.time }));
    session.on('member', (e) => this.emit({ type: 'member', time: e.time }));
    session.on('joined', (e) => this.emit({ type: 'joined', user: e.user, time: e.time }));
    session.on('left', (e) => this.emit({ type: 'left', user: e.user, reason: e.reason, time: e.time }));
    session.on('members', (e) => this.emit({ type: 'members', users: e.users, host: e.host, part: e.part, parts: e.parts, time: e.time }));
    session.on('refused', (e) =>
      this.emit({ type: 'refused', error: e.error, message: refusalText(e.error, session.maxTextBytes), time: e.time }),
    );
    session.on('unknownNotice', (e) =>
      this.emit({ type: 'warning', message: `The server sent a notice this app does not know (“${e.name}”).`, time: e.time }),
    );
    session.on('malformed', (e) => this.emit({ type: 'warning', message: e.message, time: e.time }));
    // Sealed datagrams that fail are dropped unseen; a forged or altered one is worth one warning
    // (never more: whoever forges them must not be able to flood the view). Replays stay silent.
    let warnedForgery = false;
    session.on('dropped', (e) => {
      if (e.reason !== 'auth_failed' || warnedForgery) return;
      warnedForgery = true;
      this.emit({
        type: 'warning',
        message: 'A datagram that was not sealed with this session’s key (forged, or altered on the way) was dropped. Your conversation is not affected.',
        time: e.time,
      });
    });
    session.on('ended', (e) => {
      if (this.session === session) this.session = undefined;
      this.emit({ type: 'ended', reason: e.reason, message: endText(e.reason, e.detail), time: e.time });
    });
  }
}

function parseConnectRequest(raw: unknown): ConnectRequest | string {
  if (typeof raw !== 'object' || raw === null) return 'The request is not an object.';
  const r = raw as Record<string, unknown>;
  const operation = r['operation'];
  if (operation !== 'create' && operation !== 'join') return 'Choose whether to create or join a room.';
  const fields = ['server', 'username', 'room', 'password'] as const;
  for (const name of fields) {
    const value = r[name];
    if (typeof value !== 'string' || value.length > MAX_FIELD_CHARS) return `The ${name} field is missing or too long.`;
  }
  const serverKey = r['serverKey'] ?? '';
  if (typeof serverKey !== 'string' || serverKey.length > MAX_FIELD_CHARS) return 'The server key field is not text, or too long.';
  const allowPlaintext = r['allowPlaintext'] ?? false;
  if (typeof allowPlaintext !== 'boolean') return 'The unencrypted-connection choice is not true or false.';
  const acceptUnpinned = r['acceptUnpinned'] ?? false;
  if (typeof acceptUnpinned !== 'boolean') return 'The connect-without-remembering-the-key choice is not true or false.';
  return {
    operation,
    server: r['server'] as string,
    username: r['username'] as string,
    room: r['room'] as string,
    password: r['password'] as string,
    serverKey,
    allowPlaintext,
    acceptUnpinned,
  };
}

function securityOf(security: SessionSecurity): Security {
  return security.encrypted ? { encrypted: true, fingerprint: security.fingerprint, pin: security.pin } : { encrypted: false };
}

function noticesFor(security: SessionSecurity): SecurityNotice[] {
  if (!security.encrypted) {
    return [
      {
        kind: 'warning',
        text: 'This connection is not encrypted: anyone on the network can read and change your messages, and read the room password. Use it only on networks you trust.',
      },
    ];
  }
  const notices: SecurityNotice[] = [];
  if (security.note !== undefined) {
    notices.push({ kind: security.pin === 'not_saved' ? 'warning' : 'security', text: security.note });
  }
  if (security.pin === 'unchecked') {
    notices.push({ kind: 'warning', text: `The server's key (${security.fingerprint}) was not checked against a pinned one.` });
  }
  return notices;
}

function refusalText(error: string, limit: number): string {
  if (error === 'too_long') return `The server refused your last message: it was too long (at most ${limit} bytes).`;
  return `The server refused your last message (${error || 'no reason given'}).`;
}

const CLOSE_REASONS: Record<string, string> = {
  host_left: 'The host left',
  host_timeout: 'The host went silent',
  host_unreachable: 'The host could not be reached',
  host_never_joined: 'The host never arrived',
  host_key_limit: 'The host’s session key was used up',
};

function endText(reason: SessionEndReason, detail: string): string {
  switch (reason) {
    case 'left':
      return 'You left the room.';
    case 'room_closed':
      return `${CLOSE_REASONS[detail] ?? 'The host is gone'}, so the room is closed. You can create it again, or join another room.`;
    case 'timeout':
      return 'You were silent or unreachable for too long and were removed. Join the room again to come back.';
    case 'server_shutdown':
      return 'The server is shutting down. Try again later.';
    case 'server_silent':
      return `${detail || 'The server stopped answering.'} Check the connection and try again.`;
    case 'key_spent':
      return 'This session has sent as many messages as one encryption key allows. Join the room again to continue with fresh keys.';
  }
}
