// The API between the UI (renderer) and the process that owns the sockets: Electron's main
// process (through the preload script) or the web bridge (through a WebSocket). Types only,
// plus the channel names, so that the sandboxed preload needs nothing but `electron`.

export type Operation = 'create' | 'join';

export interface ConnectRequest {
  /** HOST:PORT, [IPv6]:PORT, or HOST (port 9000). */
  server: string;
  operation: Operation;
  username: string;
  room: string;
  /** Empty: no password. */
  password: string;
  /**
   * The server's key fingerprint (SHA256:…) as its operator gave it, checked instead of trusting
   * the first contact; empty: none. Only for encrypted connections.
   */
  serverKey: string;
  /** Speak the old unencrypted protocol (servers started with --allow-plaintext). */
  allowPlaintext: boolean;
  /**
   * On first contact, connect even if the server's key cannot be remembered (the known-servers
   * file cannot be written); it is then not checked next time. Default: refuse.
   */
  acceptUnpinned?: boolean;
}

/** How the server's key was trusted (see src/protocol/crypto.ts PinOutcome). */
export type PinOutcome = 'known' | 'first_contact' | 'given' | 'replaced' | 'not_saved' | 'rotated' | 'unchecked';

/** Whether the session is encrypted; when it is, the server's key fingerprint. */
export type Security = { encrypted: false } | { encrypted: true; fingerprint: string; pin: PinOutcome };

/** Something about the connection worth telling in the chat view (first contact, a new pin, no encryption). */
export interface SecurityNotice {
  kind: 'security' | 'warning';
  text: string;
}

export interface RoomInfo {
  room: string;
  username: string;
  host: boolean;
  created: boolean;
  /** The server as the user typed it, normalised. */
  server: string;
  /** The longest message this member can send, in UTF-8 bytes. */
  maxTextBytes: number;
  security: Security;
  /** What to tell about the connection when the chat view opens. */
  notices: SecurityNotice[];
}

export type FormField = 'server' | 'username' | 'room' | 'password' | 'serverKey' | 'allowPlaintext' | 'acceptUnpinned';

export interface ApiError {
  /** A server error code (room_exists, bad_password, ...) or a local one. */
  code: string;
  /** A sentence for a person. */
  message: string;
  /** The form field the error is about, when there is one. */
  field?: FormField;
  /** More sentences, shown under the message: what happened, what to do. */
  details?: string[];
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export type EndReason = 'left' | 'room_closed' | 'timeout' | 'server_shutdown' | 'server_silent' | 'key_spent' | 'bridge_lost';

/** What the main process tells the UI about the session. `time` is ms since the epoch. */
export type ChatEvent =
  | { type: 'message'; from: string; text: string; time: number }
  | { type: 'member'; time: number }
  | { type: 'joined'; user: string; time: number }
  | { type: 'left'; user: string; reason: string; time: number }
  /** One part of who is in the room (protocol §6.6); `host` is '' when not named. */
  | { type: 'members'; users: string[]; host: string; part: number; parts: number; time: number }
  | { type: 'refused'; error: string; message: string; time: number }
  | { type: 'warning'; message: string; time: number }
  | { type: 'ended'; reason: EndReason; message: string; time: number };

export interface ChatApi {
  connect(request: ConnectRequest): Promise<ApiResult<RoomInfo>>;
  /** Resolves with the time the message was sent. */
  send(text: string): Promise<ApiResult<{ time: number }>>;
  leave(): Promise<ApiResult<null>>;
  /** Returns a function that removes the listener. */
  onEvent(listener: (event: ChatEvent) => void): () => void;
}

/** Electron IPC channel names (invoke for requests, send for events). */
export type IpcChannel = 'chat:connect' | 'chat:send' | 'chat:leave' | 'chat:event';

/** Web bridge: what the page sends over the WebSocket, and what comes back. */
export type BridgeRequest =
  | { id: number; method: 'connect'; params: ConnectRequest }
  | { id: number; method: 'send'; params: { text: string } }
  | { id: number; method: 'leave'; params: Record<string, never> };

export type BridgeMessage = { id: number; result: ApiResult<unknown> } | { event: ChatEvent };

/** The WebSocket path the web bridge serves the API on. */
export const BRIDGE_PATH = '/bridge';
