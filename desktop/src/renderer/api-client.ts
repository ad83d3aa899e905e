// The ChatApi as the page sees it: Electron's preload provides `window.chat`; in a browser the
// same API is carried over a WebSocket to the web bridge (npm run web).

import { BRIDGE_PATH, type ApiResult, type BridgeMessage, type ChatApi, type ChatEvent, type ConnectRequest, type RoomInfo } from '../shared/api';

declare global {
  interface Window {
    chat?: ChatApi;
  }
}

const BRIDGE_LOST = 'Lost the connection to the web bridge. Is “npm run web” still running?';

class WebSocketApi implements ChatApi {
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private nextId = 1;
  private pending = new Map<number, (result: ApiResult<unknown>) => void>();
  private listeners = new Set<(event: ChatEvent) => void>();
  private inRoom = false;

  constructor(private readonly url: string) {}

  connect(request: ConnectRequest): Promise<ApiResult<RoomInfo>> {
    return this.call<RoomInfo>('connect', request).then((result) => {
      this.inRoom = result.ok;
      return result;
    });
  }

  send(text: string): Promise<ApiResult<{ time: number }>> {
    return this.call('send', { text });
  }

  leave(): Promise<ApiResult<null>> {
    this.inRoom = false;
    if (!this.socket) return Promise.resolve({ ok: true, value: null });
    return this.call('leave', {});
  }

  onEvent(listener: (event: ChatEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private open(): Promise<WebSocket> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.opening ??= new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.url);
      socket.addEventListener('open', () => {
        this.socket = socket;
        this.opening = undefined;
        resolve(socket);
      });
      socket.addEventListener('message', (e: MessageEvent) => this.receive(e.data));
      socket.addEventListener('close', () => {
        const wasOpen = this.socket === socket;
        this.socket = undefined;
        this.opening = undefined;
        reject(new Error(BRIDGE_LOST));
        for (const settle of this.pending.values()) settle({ ok: false, error: { code: 'bridge_lost', message: BRIDGE_LOST } });
        this.pending.clear();
        if (wasOpen && this.inRoom) {
          this.inRoom = false;
          this.dispatch({ type: 'ended', reason: 'bridge_lost', message: BRIDGE_LOST, time: Date.now() });
        }
      });
    });
    return this.opening;
  }

  private async call<T>(method: string, params: unknown): Promise<ApiResult<T>> {
    let socket: WebSocket;
    try {
      socket = await this.open();
    } catch {
      return { ok: false, error: { code: 'bridge_lost', message: 'Cannot reach the web bridge. Is “npm run web” running?' } };
    }
    const id = this.nextId++;
    return new Promise<ApiResult<T>>((resolve) => {
      this.pending.set(id, resolve as (result: ApiResult<unknown>) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: BridgeMessage;
    try {
      message = JSON.parse(data) as BridgeMessage;
    } catch {
      return;
    }
    if ('event' in message) {
      if (message.event.type === 'ended') this.inRoom = false;
      this.dispatch(message.event);
    } else if (typeof message.id === 'number') {
      const settle = this.pending.get(message.id);
      this.pending.delete(message.id);
      settle?.(message.result);
    }
  }

  private dispatch(event: ChatEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

export function createApi(): ChatApi {
  if (window.chat) return window.chat;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocketApi(`${scheme}//${location.host}${BRIDGE_PATH}`);
}
