// The known-servers file: the key fingerprint pinned for each server, as SSH's known_hosts does,
// in the same format and place as chat-client's (cli-client/known_servers.hpp), so that both
// clients share it. One line per server; '#' starts a comment:
//
//   127.0.0.1:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   [::1]:9000 SHA256:…
//
// On first contact the server's fingerprint is appended; later, a server that presents another key
// is refused before anything secret is sent. A fingerprint the user gives (from the server's
// operator) is checked instead, and then pinned, replacing an older pin: that is how a changed key
// is accepted on purpose. Owned by the main process (or the web bridge); the UI never sees the file.

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HandshakeError } from '../protocol/errors';
import { normaliseFingerprint } from '../protocol/fingerprint';
import type { KeyTrust, ServerIdentity, TrustServerKey } from '../protocol/crypto';
import type { ServerKey } from '../protocol/server-key';

export interface KnownServer {
  /** As serverId() writes it (host in lower case). */
  server: string;
  /** Normalised. */
  fingerprint: string;
  /** 1-based, for messages. */
  line: number;
}

export interface KnownServersFile {
  entries: KnownServer[];
  /** 1-based numbers of lines that are neither an entry nor a comment (ignored). */
  badLines: number[];
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

function fieldsOf(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isBlank(line[i]!)) i++;
    const start = i;
    while (i < line.length && !isBlank(line[i]!)) i++;
    if (i > start) fields.push(line.slice(start, i));
  }
  return fields;
}

const lowerAscii = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** "host:port" or "[v6]:port" with a port of 1–65535 (the file may have been edited by hand). */
function isServerField(text: string): boolean {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return false;
  const port = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(port)) return false;
  const value = Number(port);
  return value >= 1 && value <= 65535;
}

/** Reads the file's text: blank and '#' lines are skipped, anything unreadable is listed in badLines. */
export function parseKnownServers(text: string): KnownServersFile {
  const out: KnownServersFile = { entries: [], badLines: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const fields = fieldsOf(line);
    if (fields.length === 0 || fields[0]!.startsWith('#')) return;
    const shape = fields.length === 2 || (fields.length > 2 && fields[2]!.startsWith('#'));
    const fingerprint = shape ? normaliseFingerprint(fields[1]!) : undefined;
    if (!fingerprint || !isServerField(fields[0]!)) {
      out.badLines.push(index + 1);
      return;
    }
    out.entries.push({ server: lowerAscii(fields[0]!), fingerprint, line: index + 1 });
  });
  return out;
}

export type PinCheck = { status: 'unknown' } | { status: 'match'; entry: KnownServer } | { status: 'mismatch'; pinned: KnownServer };

/** What the file says about `server` presenting `fingerprint`: a line with it, other lines only, or none. */
export function checkPin(file: KnownServersFile, server: string, fingerprint: string): PinCheck {
  let mismatch: KnownServer | undefined;
  for (const entry of file.entries) {
    if (entry.server !== server) continue;
    if (entry.fingerprint === fingerprint) return { status: 'match', entry };
    mismatch ??= entry;
  }
  return mismatch ? { status: 'mismatch', pinned: mismatch } : { status: 'unknown' };
}

export function knownServerLine(server: string, fingerprint: string): string {
  return `${server} ${fingerprint}\n`;
}

/**
 * Where the file is by default: $XDG_CONFIG_HOME/libchat/known_servers when XDG_CONFIG_HOME is an
 * absolute path (the XDG spec ignores a relative one), else ~/.config/libchat/known_servers.
 */
export function defaultKnownServersPath(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string | undefined {
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'libchat', 'known_servers');
  if (home) return path.join(home, '.config', 'libchat', 'known_servers');
  return undefined;
}

/** `file` for a message: "~/…" when it lies under `home`. */
export function displayPath(file: string, home: string = os.homedir()): string {
  const base = home.replace(/\/+$/, '');
  if (base !== '' && file.startsWith(base + '/')) return '~' + file.slice(base.length);
  return file;
}

function reason(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = String((error as { code: unknown }).code);
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'EISDIR') return 'it is a directory';
    if (code === 'ENOTDIR') return 'a part of its path is not a directory';
    if (code === 'EROFS') return 'the file system is read-only';
    if (code === 'ENOSPC') return 'the disk is full';
    return code;
  }
  return String(error);
}

/** The known-servers file of this app (one per process; every window and tab shares it). */
export class KnownServers {
  /** Checks run one at a time, so that two windows meeting a new server pin it once. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly home: string = os.homedir(),
  ) {}

  /** The file as messages name it (~/… under the home directory). */
  get shownPath(): string {
    return displayPath(this.file, this.home);
  }

  /** A TrustServerKey for one connection; `expected` is the fingerprint the user gave, if any (normalised). */
  trust(expected?: string): TrustServerKey {
    return (server, key) => this.check(server, key, expected);
  }

  /** Decides about `key` for `server`. Rejects with HandshakeError to refuse it. */
  check(server: ServerIdentity, key: ServerKey, expected?: string): Promise<KeyTrust> {
    const run = this.queue.then(() => (expected === undefined ? this.checkPinned(server.id, key.fingerprint) : this.checkGiven(server.id, key.fingerprint, expected)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The fingerprint remembered for `id`, if any (undefined also when the file cannot be read). */
  async pinnedFingerprint(id: string): Promise<string | undefined> {
    try {
      const check = checkPin((await this.read()).parsed, id, '');
      return check.status === 'mismatch' ? check.pinned.fingerprint : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reads and parses the file; an absent file is empty. */
  async read(): Promise<{ text: string; parsed: KnownServersFile }> {
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e; // no such file (yet)
    }
    return { text, parsed: parseKnownServers(text) };
  }

  private async checkPinned(id: string, presented: string): Promise<KeyTrust> {
    let file;
    try {
      file = await this.read();
    } catch (e) {
      throw new HandshakeError('known_servers', `Cannot read the known-servers file ${this.shownPath}: ${reason(e)}.`, undefined, undefined, [
        "It holds the keys of the servers you talked to before; without it the server's key cannot be checked. Fix the file's permissions, or enter the server's key fingerprint under Advanced.",
      ]);
    }
    const check = checkPin(file.parsed, id, presented);
    if (check.status === 'match') return { pin: 'known' };
    if (check.status === 'mismatch') {
      throw new HandshakeError(
        'server_key_mismatch',
        `The server at ${id} presented a different key than the one remembered for it, so the connection was stopped. Nothing secret was sent.`,
        undefined,
        'serverKey',
        [
          "Someone may be intercepting the connection, or the server's key was replaced (for example, when the server was reinstalled).",
          `Key presented: ${presented}`,
          `Key remembered: ${check.pinned.fingerprint}`,
          `If the server's operator confirms the new key, enter its fingerprint under Advanced and connect again: it then replaces the old one (line ${check.pinned.line} of ${this.shownPath}).`,
        ],
      );
    }
    try {
      await this.append(file.text, id, presented);
    } catch (e) {
      return {
        pin: 'not_saved',
        note: `First connection to ${id}. Its key fingerprint ${presented} could not be remembered (${this.shownPath}: ${reason(e)}), so it will not be checked next time.`,
      };
    }
    return { pin: 'first_contact', note: `First connection to ${id}. Its key fingerprint ${presented} is now remembered.` };
  }

  private async checkGiven(id: string, presented: string, expected: string): Promise<KeyTrust> {
    if (presented !== expected) {
      throw new HandshakeError(
        'server_key_mismatch',
        `The server at ${id} presented a different key than the fingerprint you entered, so the connection was stopped. Nothing secret was sent.`,
        undefined,
        'serverKey',
        [
          'Someone may be intercepting the connection, or the fingerprint you entered is mistyped or out of date.',
          `Key presented: ${presented}`,
          `Fingerprint you entered: ${expected}`,
          "Check the fingerprint with the server's operator: chat-server prints it when it starts.",
        ],
      );
    }
    // The user vouched for this key: pin it, replacing what was pinned before. The file is a
    // convenience here; if it cannot be used, the entered fingerprint was checked all the same.
    try {
      const file = await this.read();
      const check = checkPin(file.parsed, id, presented);
      if (check.status === 'match') return { pin: 'given', note: "The server's key matches the fingerprint you entered." };
      if (check.status === 'unknown') {
        await this.append(file.text, id, presented);
        return { pin: 'given', note: `The server's key matches the fingerprint you entered. ${presented} is now remembered for ${id}.` };
      }
      await this.replace(file.text, file.parsed, id, presented);
      return {
        pin: 'replaced',
        note: `The server's key matches the fingerprint you entered and replaces the key remembered for ${id} before (${check.pinned.fingerprint}). ${presented} is now remembered.`,
      };
    } catch (e) {
      return {
        pin: 'given',
        note: `The server's key matches the fingerprint you entered. It could not be remembered (${this.shownPath}: ${reason(e)}).`,
      };
    }
  }

  /** Appends a pin, creating the directories (0700) and the file (0600) as needed. */
  private async append(text: string, id: string, fingerprint: string): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const line = (text !== '' && !text.endsWith('\n') ? '\n' : '') + knownServerLine(id, fingerprint);
    const handle = await fs.open(this.file, 'a', 0o600);
    try {
      await handle.writeFile(line, 'utf8');
    } finally {
      await handle.close();
    }
  }

  /** Rewrites the file without the server's old lines and with the new pin (atomically: write, then rename). */
  private async replace(text: string, parsed: KnownServersFile, id: string, fingerprint: string): Promise<void> {
    const drop = new Set(parsed.entries.filter((e) => e.server === id).map((e) => e.line));
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const kept = lines.filter((_, i) => !drop.has(i + 1));
    const next = kept.map((l) => l + '\n').join('') + knownServerLine(id, fingerprint);
    const temporary = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(temporary, next, { mode: 0o600, flag: 'wx' });
    try {
      await fs.rename(temporary, this.file);
    } catch (e) {
      await fs.rm(temporary, { force: true });
      throw e;
    }
  }
}
