// The preload script: the only bridge between the sandboxed page and the main process. It runs
// sandboxed, so it may require nothing but `electron` (the imports from ../shared are types and
// vanish at compile time). It exposes exactly the ChatApi, as `window.chat`.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiResult, ChatApi, ChatEvent, ConnectRequest, IpcChannel, RoomInfo } from '../shared/api';

const CONNECT: IpcChannel = 'chat:connect';
const SEND: IpcChannel = 'chat:send';
const LEAVE: IpcChannel = 'chat:leave';
const EVENT: IpcChannel = 'chat:event';

const api: ChatApi = {
  connect: (request: ConnectRequest) => ipcRenderer.invoke(CONNECT, request) as Promise<ApiResult<RoomInfo>>,
  send: (text: string) => ipcRenderer.invoke(SEND, text) as Promise<ApiResult<{ time: number }>>,
  leave: () => ipcRenderer.invoke(LEAVE) as Promise<ApiResult<null>>,
  onEvent: (listener: (event: ChatEvent) => void) => {
    // The page never sees the IpcRendererEvent (it would leak `sender`).
    const wrapped = (_event: IpcRendererEvent, payload: ChatEvent): void => listener(payload);
    ipcRenderer.on(EVENT, wrapped);
    return () => {
      ipcRenderer.removeListener(EVENT, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('chat', api);
