// The web bridge: serves the renderer to an ordinary browser and carries the ChatApi over a
// WebSocket, so the same UI runs without Electron. Each WebSocket gets its own ChatController
// (its own room membership). Bound to 127.0.0.1 unless told otherwise.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { BRIDGE_PATH, type ApiResult, type BridgeMessage, type ChatEvent } from '../shared/api';
import { ChatController, type SessionDefaults } from '../main/controller';
import { defaultKnownServersPath, displayPath, KnownServers } from '../main/known-servers';

export interface BridgeOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where index.html, app.js and styles.css are (default: the built renderer). */
  staticDir?: string;
  sessionDefaults?: SessionDefaults;
  /**
   * The known-servers file where server keys are pinned (default: chat-client's,
   * $XDG_CONFIG_HOME/libchat/known_servers, else ~/.config/libchat/known_servers).
   */
  knownServersFile?: string;
  log?: (line: string) => void;
}

export interface RunningBridge {
  url: string;
  port: number;
  /** Where server keys are pinned (undefined: nowhere, without a home directory). */
  knownServersFile: string | undefined;
  close(): Promise<void>;
}

export const DEFAULT_BRIDGE_PORT = 8765;

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.js.map': { file: 'app.js.map', type: 'application/json; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
  '/fonts/inter-latin.woff2': { file: 'fonts/inter-latin.woff2', type: 'font/woff2' },
  '/fonts/inter-latin-ext.woff2': { file: 'fonts/inter-latin-ext.woff2', type: 'font/woff2' },
  '/fonts/LICENSE-Inter.txt': { file: 'fonts/LICENSE-Inter.txt', type: 'text/plain; charset=utf-8' },
};

const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const MAX_REQUEST_BYTES = 64 * 1024;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function startBridge(options: BridgeOptions = {}): Promise<RunningBridge> {
  const host = options.host ?? '127.0.0.1';
  const staticDir = options.staticDir ?? path.join(__dirname, '..', 'renderer');
  const log = options.log ?? ((line: string) => console.error(line));
  const controllers = new Set<ChatController>();
  const knownServersFile = options.knownServersFile ?? defaultKnownServersPath();
  // One store for every tab, so that two tabs meeting a new server pin it once.
  const knownServers = knownServersFile !== undefined ? new KnownServers(knownServersFile) : undefined;
  let port = 0;

  /** Host headers a browser sends for this server; others are refused (DNS rebinding). */
  const hostAllowed = (value: string | undefined): boolean => {
    if (!value) return false;
    if (!isLoopback(host)) return true;
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`].includes(value.toLowerCase());
  };

  const server = http.createServer((req, res) => {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(403, SECURITY_HEADERS).end('Forbidden host\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://bridge.invalid');
    const entry = STATIC_FILES[url.pathname];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !entry) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    fs.readFile(path.join(staticDir, entry.file), (error, data) => {
      if (error) {
        res.writeHead(404, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not built: run npm run build\n');
        return;
      }
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': entry.type, 'Content-Length': data.length });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://bridge.invalid');
    const origin = req.headers.origin;
    // Only pages this server served may use the bridge: another site's page must not drive it.
    if (url.pathname !== BRIDGE_PATH || !hostAllowed(req.headers.host) || origin !== `http://${req.headers.host}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  function serve(ws: WebSocket): void {
    const send = (message: BridgeMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const controller = new ChatController((event: ChatEvent) => send({ event }), { session: options.sessionDefaults, knownServers });
    controllers.add(controller);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void handle(controller, data, isBinary).then((reply) => {
        if (reply) send(reply);
      });
    });
    ws.on('close', () => {
      controllers.delete(controller);
      void controller.dispose();
    });
    ws.on('error', () => ws.terminate());
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_BRIDGE_PORT, host, () => {
      server.removeListener('error', reject);
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      const url = `http://${shownHost}:${port}/`;
      if (!isLoopback(host)) log(`libchat web bridge: listening on ${host}, reachable from other machines: anyone who can reach it can chat as you.`);
      resolve({
        url,
        port,
        knownServersFile,
        close: async () => {
          await Promise.allSettled([...controllers].map((c) => c.dispose()));
          for (const client of wss.clients) client.terminate();
          wss.close();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}

async function handle(controller: ChatController, data: RawData, isBinary: boolean): Promise<BridgeMessage | undefined> {
  if (isBinary) return undefined;
  let request: unknown;
  try {
    request = JSON.parse(data.toString());
  } catch {
    return undefined;
  }
  if (typeof request !== 'object' || request === null) return undefined;
  const { id, method, params } = request as { id?: unknown; method?: unknown; params?: unknown };
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return undefined;
  let result: ApiResult<unknown>;
  try {
    switch (method) {
      case 'connect':
        result = await controller.connect(params);
        break;
      case 'send':
        result = await controller.send(typeof params === 'object' && params !== null ? (params as { text?: unknown }).text : undefined);
        break;
      case 'leave':
        result = await controller.leave();
        break;
      default:
        result = { ok: false, error: { code: 'invalid_input', message: 'Unknown method.' } };
    }
  } catch (e) {
    result = { ok: false, error: { code: 'internal_error', message: `Something went wrong: ${String(e)}` } };
  }
  return { id, result };
}

function parseArgs(argv: string[]): { host: string; port: number; knownServersFile?: string } | string {
  let host = '127.0.0.1';
  let port = DEFAULT_BRIDGE_PORT;
  let knownServersFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (name === '--host') {
      const v = value();
      if (!v) return '--host needs an address';
      host = v;
    } else if (name === '--port') {
      const v = value();
      if (!v || !/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) return '--port needs a number 0-65535';
      port = Number(v);
    } else if (name === '--known-servers') {
      const v = value();
      if (!v) return '--known-servers needs a file name';
      knownServersFile = path.resolve(v);
    } else if (name === '--help' || name === '-h') {
      return 'help';
    } else {
      return `unknown argument ${arg}`;
    }
  }
  return knownServersFile === undefined ? { host, port } : { host, port, knownServersFile };
}

const USAGE = `Usage: npm run web -- [--port N] [--host ADDRESS] [--known-servers FILE]

Serves the libchat UI at http://127.0.0.1:${DEFAULT_BRIDGE_PORT}/ and carries its API over a WebSocket.
  --port N        port to listen on (default ${DEFAULT_BRIDGE_PORT}; 0 picks a free one)
  --host ADDRESS  address to listen on (default 127.0.0.1; anything else lets other machines
                  use the bridge, and so chat through it)
  --known-servers FILE
                  where server keys are pinned, as chat-client does (default:
                  $XDG_CONFIG_HOME/libchat/known_servers, else ~/.config/libchat/known_servers)`;

if (require.main === module) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    if (parsed === 'help') {
      console.log(USAGE);
      process.exit(0);
    }
    console.error(`libchat web bridge: ${parsed}\n\n${USAGE}`);
    process.exit(2);
  }
  startBridge(parsed).then(
    (bridge) => {
      console.log(`libchat web bridge: open ${bridge.url} in a browser (Ctrl-C stops it)`);
      console.log(
        bridge.knownServersFile !== undefined
          ? `libchat web bridge: server keys are pinned in ${displayPath(bridge.knownServersFile)}`
          : 'libchat web bridge: no home directory, so server keys cannot be pinned: give each server\'s fingerprint under Advanced',
      );
      const stop = (): void => {
        void bridge.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: unknown) => {
      console.error(`libchat web bridge: cannot listen: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
