// Starting the real chat-server and the C++ chat-client for the tests, on ephemeral loopback ports.

import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** The desktop/ folder (this file runs from dist/test/helpers). */
export const desktopDir = path.resolve(__dirname, '..', '..', '..');
export const repoDir = path.resolve(desktopDir, '..');

function binary(variable: string, fallback: string): string {
  const configured = process.env[variable];
  const file = path.resolve(desktopDir, configured && configured !== '' ? configured : fallback);
  if (!existsSync(file)) {
    throw new Error(`${variable}: no executable at ${file}; build it (see README.md) or set ${variable}`);
  }
  return file;
}

export const chatServerPath = (): string => binary('CHAT_SERVER', '../build/server/chat-server');
export const chatClientPath = (): string => binary('CHAT_CLIENT', '../build/cli-client/chat-client');

// Temporary directories of this test process (key files, known-servers files), removed at exit:
// the tests never touch the user's own ~/.config/libchat or ~/.local/state/chat-server.
const temporaryDirs: string[] = [];
process.on('exit', () => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system's temporary directory, removed when the tests end. */
export function temporaryDir(prefix = 'libchat-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}

/** A known-servers file in a fresh temporary directory (the file itself does not exist yet). */
export function temporaryKnownServers(): string {
  return path.join(temporaryDir('libchat-known-'), 'known_servers');
}

export interface ServerOptions {
  /** The server's key file (created on first start). Default: a new one in a temporary directory. */
  keyFile?: string;
  /** The TCP port (default: a free one); to restart a server where clients pinned it. */
  port?: number;
  udpPort?: number;
  /** The address to bind (default 127.0.0.1); cluster tests give each node its own 127.0.0.N. */
  bind?: string;
}

export interface RunningServer {
  host: string;
  tcpPort: number;
  udpPort: number;
  /** HOST:PORT of the handshake port, as the UI and chat-client take it. */
  address: string;
  /** The key fingerprint the server printed at start-up. */
  fingerprint: string;
  keyFile: string;
  /** True when it accepts unencrypted handshakes too (--allow-plaintext). */
  plaintext: boolean;
  log: string[];
  stop(): Promise<void>;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const LIMIT_DEFAULTS: Array<[string, string]> = [
  ['--handshake-rate', '0'], ['--max-handshakes-per-ip', '1000'], ['--max-rooms-per-ip', '1000'],
  ['--max-tokens-per-ip', '100000'], ['--join-rate', '0'], ['--chat-rate', '0'],
];

function liftedLimits(extra: string[]): string[] {
  return LIMIT_DEFAULTS.filter(([flag]) => !extra.includes(flag)).flat();
}

/**
 * Starts chat-server on free loopback ports (encrypted only, unless `extra` has --allow-plaintext)
 * and waits for its start-up lines: where it listens, and its key's fingerprint.
 */
export function startServer(extra: string[] = [], options: ServerOptions = {}): Promise<RunningServer> {
  const keyFile = options.keyFile ?? path.join(temporaryDir('libchat-key-'), 'server.key');
  const args = [
    '--bind', options.bind ?? '127.0.0.1',
    '--port', String(options.port ?? 0),
    ...(options.udpPort !== undefined ? ['--udp-port', String(options.udpPort)] : []),
    '--key-file', keyFile,
    '--threads', '2', '--stats-interval', '0', '--log-level', 'info',
    // Every test talks from 127.0.0.1, quickly (200 messages in a row, many joins): the server's
    // per-address and per-member rate limits are lifted unless a test sets them itself.
    ...liftedLimits(extra),
    ...extra,
  ];
  const child = spawn(chatServerPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat-server did not start:\n${log.join('\n')}`));
    }, 10000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chat-server exited (${code}) before it listened:\n${log.join('\n')}`));
    });
    let listening: RegExpExecArray | undefined;
    let key: RegExpExecArray | undefined;
    let started = false;
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      log.push(line);
      listening ??= /listening tcp=([0-9.]+):(\d+) udp=([0-9.]+):(\d+)/.exec(line) ?? undefined;
      key ??= /server key (SHA256:[A-Za-z0-9+/]+) \(.*\); accepting (.*)$/.exec(line) ?? undefined;
      if (!listening || !key || started) return;
      started = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const host = listening[1]!;
      const tcpPort = Number(listening[2]);
      resolve({
        host,
        tcpPort,
        udpPort: Number(listening[4]),
        address: `${host}:${tcpPort}`,
        fingerprint: key[1]!,
        keyFile,
        plaintext: !/encrypted handshakes only/.test(key[2]!),
        log,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 5000))) {
            child.kill('SIGKILL');
            await waitForExit(child, 2000);
          }
        },
      });
    });
  });
}

export type CliEvent = { type: string; [key: string]: unknown };

export interface CliOptions {
  /** The known-servers file chat-client pins keys in (default: one temporary file for the whole test run). */
  knownServers?: string;
  /** --insecure: the old unencrypted protocol. */
  insecure?: boolean;
}

let sharedKnownServers: string | undefined;

/** chat-client --json: one message per stdin line, one JSON object per line on stdout. */
export class CliClient {
  readonly events: CliEvent[] = [];
  readonly stderr: string[] = [];
  private waiters: { match: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(server: RunningServer, mode: '--create' | '--join', room: string, name: string, password?: string, options: CliOptions = {}) {
    const env = { ...process.env };
    const args = ['--json', '--server', server.address, mode, room, '--name', name];
    // Never the user's own known-servers file.
    if (options.insecure) args.push('--insecure');
    else args.push('--known-servers', options.knownServers ?? (sharedKnownServers ??= temporaryKnownServers()));
    if (password !== undefined) {
      env['LIBCHAT_TEST_PASSWORD'] = password;
      args.push('--password-env', 'LIBCHAT_TEST_PASSWORD');
    }
    this.child = spawn(chatClientPath(), args, { env, stdio: 'pipe' });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let event: CliEvent;
      try {
        event = JSON.parse(line) as CliEvent;
      } catch {
        event = { type: 'unparsed', line };
      }
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(event)) return true;
        w.resolve(event);
        return false;
      });
    });
    readline.createInterface({ input: this.child.stderr }).on('line', (line) => this.stderr.push(line));
  }

  /** Resolves with the first event (already seen or to come) that matches. */
  waitFor(match: (e: CliEvent) => boolean, ms = 10000, what = 'an event'): Promise<CliEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`chat-client: timed out waiting for ${what}; saw ${JSON.stringify(this.events)}; stderr ${this.stderr.join(' | ')}`)),
        ms,
      );
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Ends stdin: the client leaves the room and exits. */
  async quit(): Promise<number | null> {
    this.child.stdin.end();
    const done = await Promise.race([this.exited, new Promise<'slow'>((r) => setTimeout(() => r('slow'), 5000))]);
    if (done === 'slow') {
      this.child.kill('SIGKILL');
      return this.exited;
    }
    return done;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export interface RunningNats {
  url: string;
  stop(): Promise<void>;
}

/** Debian's nats-server with JetStream on a free loopback port, its store in a temporary directory. */
export function startNats(): Promise<RunningNats> {
  const dir = temporaryDir('libchat-nats-');
  const child = spawn('/usr/sbin/nats-server', ['-js', '-a', '127.0.0.1', '-p', '-1', '-sd', path.join(dir, 'js')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not start:\n${log.join('\n')}`));
    }, 10000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    let port: string | undefined;
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      log.push(line);
      port ??= /Listening for client connections on [0-9.]+:(\d+)/.exec(line)?.[1];
      if (!port || !/Server is ready/.test(line)) return;
      clearTimeout(timer);
      resolve({
        url: `nats://127.0.0.1:${port}`,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 5000))) child.kill('SIGKILL');
        },
      });
    });
  });
}
