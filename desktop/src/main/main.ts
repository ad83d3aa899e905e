// Electron's main process: one window, sandboxed, that reaches the network only through the
// ChatApi below (IPC handlers → ChatController → the protocol module, which owns the sockets).

import { app, BrowserWindow, ipcMain, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatEvent, IpcChannel } from '../shared/api';
import { ChatController } from './controller';
import { defaultKnownServersPath, KnownServers } from './known-servers';

const CONNECT: IpcChannel = 'chat:connect';
const SEND: IpcChannel = 'chat:send';
const LEAVE: IpcChannel = 'chat:leave';
const EVENT: IpcChannel = 'chat:event';

const rendererDir = path.join(__dirname, '..', 'renderer');
const indexHtml = path.join(rendererDir, 'index.html');
const indexUrl = pathToFileURL(indexHtml).href;

/** The same policy as the page's meta tag, sent as a header too (it wins on every response). */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'";

/**
 * Where server keys are pinned: --known-servers=FILE, else chat-client's file
 * ($XDG_CONFIG_HOME/libchat/known_servers, else ~/.config/libchat/known_servers). One store for
 * every window.
 */
function knownServersFile(): string | undefined {
  const flag = process.argv.find((a) => a.startsWith('--known-servers='));
  if (flag) return path.resolve(flag.slice('--known-servers='.length));
  return defaultKnownServersPath();
}
const knownServersPath = knownServersFile();
const knownServers = knownServersPath !== undefined ? new KnownServers(knownServersPath) : undefined;

const controllers = new Map<number, ChatController>();
/** Leaves still being sent; quitting waits for them so that the others are told at once. */
const pendingLeaves = new Set<Promise<void>>();

function dispose(controller: ChatController): void {
  const leaving = controller.dispose().catch(() => undefined);
  pendingLeaves.add(leaving);
  void leaving.finally(() => pendingLeaves.delete(leaving));
}

function controllerFor(contents: WebContents): ChatController {
  let controller = controllers.get(contents.id);
  if (!controller) {
    const created = new ChatController(
      (event: ChatEvent) => {
        if (!contents.isDestroyed()) contents.send(EVENT, event);
      },
      { knownServers },
    );
    controllers.set(contents.id, created);
    contents.once('destroyed', () => {
      controllers.delete(contents.id);
      dispose(created);
    });
    controller = created;
  }
  return controller;
}

/** Only our own page, in the top frame, may use the API. */
function trusted(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && frame.url === indexUrl;
}

function untrusted() {
  return { ok: false as const, error: { code: 'forbidden', message: 'This page may not use the chat API.' } };
}

function registerIpc(): void {
  ipcMain.handle(CONNECT, (event, request: unknown) => (trusted(event) ? controllerFor(event.sender).connect(request) : untrusted()));
  ipcMain.handle(SEND, (event, text: unknown) => (trusted(event) ? controllerFor(event.sender).send(text) : untrusted()));
  ipcMain.handle(LEAVE, (event) => (trusted(event) ? controllerFor(event.sender).leave() : untrusted()));
}

function createWindow(): void {
  const window = new BrowserWindow({
    width: 980,
    height: 720,
    minWidth: 420,
    minHeight: 480,
    title: 'libchat',
    backgroundColor: '#f6f7f9',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, 'preload.js'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      spellcheck: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  // The page never navigates: links open in the system browser, anything else is refused.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  void window.loadFile(indexHtml);
}

app.enableSandbox();

void app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  registerIpc();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let quitting = false;
app.on('before-quit', (event) => {
  if (quitting) return;
  for (const controller of controllers.values()) dispose(controller);
  controllers.clear();
  if (pendingLeaves.size === 0) return;
  event.preventDefault();
  quitting = true;
  void Promise.allSettled([...pendingLeaves]).then(() => app.quit());
});
