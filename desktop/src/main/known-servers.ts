// The known-servers file: the key fingerprint pinned for each server, as SSH's known_hosts does,
// in the same format and place as chat-client's (cli-client/known_servers.hpp), so that both
// clients share it. One line per pin; '#' starts a comment:
//
//   chat.example:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   192.0.2.7:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   @next chat.example:9000 SHA256:…
//
// On first contact the server's fingerprint is appended for the name as typed and for the address
// it resolved to (SSH's CheckHostIP): another name for a pinned address is not a new first contact,
// and is refused if that address is pinned to another key. A pin that cannot be written stops the
// connection unless the user accepts that. Later, a server that presents another key is refused
// before anything secret is sent. "@next" lines hold the key a server announced inside its sealed
// completion for a key rotation: once the server presents it, it replaces the old pins. A fingerprint the user gives (from the server's
// operator) is checked instead, and then pinned, replacing an older pin: that is how a changed key
// is accepted on purpose. Owned by the main process (or the web bridge); the UI never sees the file.

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HandshakeError } from '../protocol/errors';
import { normaliseFingerprint } from '../protocol/fingerprint';
import type { KeyTrust, RecordNextKey, ServerIdentity, TrustServerKey } from '../protocol/crypto';
import type { ServerKey } from '../protocol/server-key';

export interface KnownServer {
  /** As serverId() writes it (host in lower case). */
  server: string;
  /** Normalised. */
  fingerprint: string;
  /** 1-based, for messages. */
  line: number;
  /** An "@next" line: the key the server announced for its rotation, not (yet) a pin. */
  next: boolean;
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
    const next = fields[0] === NEXT_MARKER;
    if (next) fields.shift();
    const shape = fields.length === 2 || (fields.length > 2 && fields[2]!.startsWith('#'));
    const fingerprint = shape ? normaliseFingerprint(fields[1]!) : undefined;
    if (!fingerprint || !isServerField(fields[0]!)) {
      out.badLines.push(index + 1);
      return;
    }
    out.entries.push({ server: lowerAscii(fields[0]!), fingerprint, line: index + 1, next });
  });
  return out;
}

export type PinCheck = { status: 'unknown' } | { status: 'match'; entry: KnownServer } | { status: 'mismatch'; pinned: KnownServer };

/** What the file's pins (not its "@next" lines) say about `server` presenting `fingerprint`. */
export function checkPin(file: KnownServersFile, server: string, fingerprint: string): PinCheck {
  let mismatch: KnownServer | undefined;
  for (const entry of file.entries) {
    if (entry.server !== server || entry.next) continue;
    if (entry.fingerprint === fingerprint) return { status: 'match', entry };
    mismatch ??= entry;
  }
  return mismatch ? { status: 'mismatch', pinned: mismatch } : { status: 'unknown' };
}

export function knownServerLine(server: string, fingerprint: string): string {
  return `${server} ${fingerprint}\n`;
}

const NEXT_MARKER = '@next';

/** The "@next" line that holds `fingerprint` as the announced successor of `server`'s key. */
export function nextKeyLine(server: string, fingerprint: string): string {
  return `${NEXT_MARKER} ${knownServerLine(server, fingerprint)}`;
}

/** How a server reached by `name` (as typed) at `address` (what it resolved to) may be trusted. */
export type TrustDecision =
  /** The name's pin; `toPin`: the address, if it is new; `addressConflict`: its pin of another key. */
  | { verdict: 'known'; toPin: string[]; addressConflict?: KnownServer }
  /** The name is new, but its address has this pin: not a first contact. */
  | { verdict: 'known_by_address'; toPin: string[] }
  | { verdict: 'first_contact'; toPin: string[] }
  /** The key the server announced as its next one: it replaces the old pins of `toPin`. */
  | { verdict: 'rotated'; toPin: string[] }
  /** The name is pinned to another key. */
  | { verdict: 'mismatch'; pinned: KnownServer }
  /** The name is new, and its address is pinned to another key. */
  | { verdict: 'address_mismatch'; pinned: KnownServer };

const hasNextPin = (file: KnownServersFile, server: string, fingerprint: string): boolean =>
  file.entries.some((e) => e.next && e.server === server && e.fingerprint === fingerprint);

/** The same rules as chat-client's decide_trust (cli-client/known_servers.cpp). */
export function decideTrust(file: KnownServersFile, name: string, address: string | undefined, fingerprint: string): TrustDecision {
  const other = address !== undefined && address !== name ? address : undefined;
  const both = other === undefined ? [name] : [name, other];
  const named = checkPin(file, name, fingerprint);
  if (named.status === 'match') {
    if (other === undefined) return { verdict: 'known', toPin: [] };
    const at = checkPin(file, other, fingerprint);
    if (at.status === 'mismatch') return { verdict: 'known', toPin: [], addressConflict: at.pinned };
    return { verdict: 'known', toPin: at.status === 'unknown' ? [other] : [] };
  }
  if (both.some((id) => hasNextPin(file, id, fingerprint))) return { verdict: 'rotated', toPin: both };
  if (named.status === 'mismatch') return { verdict: 'mismatch', pinned: named.pinned };
  const at = other === undefined ? ({ status: 'unknown' } as PinCheck) : checkPin(file, other, fingerprint);
  if (at.status === 'match') return { verdict: 'known_by_address', toPin: [name] };
  if (at.status === 'mismatch') return { verdict: 'address_mismatch', pinned: at.pinned };
  return { verdict: 'first_contact', toPin: both };
}

/** The file's text after the rotation to `fingerprint` on `servers`: their other pins and "@next" lines go. */
export function rotatedText(text: string, file: KnownServersFile, servers: string[], fingerprint: string): string {
  const drop = new Set<number>();
  const kept = new Set<string>();
  for (const e of file.entries) {
    if (!servers.includes(e.server)) continue;
    if (!e.next && e.fingerprint === fingerprint) kept.add(e.server);
    else drop.add(e.line);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out = lines.filter((_, i) => !drop.has(i + 1)).map((l) => l + '\n');
  for (const server of servers) if (!kept.has(server)) out.push(knownServerLine(server, fingerprint));
  return out.join('');
}

/** The ids of `servers` with neither a pin nor an "@next" line of `fingerprint`. */
export function missingNextPins(file: KnownServersFile, servers: string[], fingerprint: string): string[] {
  return servers.filter((s) => !file.entries.some((e) => e.server === s && e.fingerprint === fingerprint));
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

  /**
   * A TrustServerKey for one connection; `expected` is the fingerprint the user gave, if any
   * (normalised); `acceptUnpinned`: go on when a first contact's key cannot be remembered.
   */
  trust(expected?: string, acceptUnpinned = false): TrustServerKey {
    return (server, key) => this.check(server, key, expected, acceptUnpinned);
  }

  /** Decides about `key` for `server`. Rejects with HandshakeError to refuse it. */
  check(server: ServerIdentity, key: ServerKey, expected?: string, acceptUnpinned = false): Promise<KeyTrust> {
    return this.serialised(() =>
      expected === undefined ? this.checkPinned(server, key.fingerprint, acceptUnpinned) : this.checkGiven(server.id, key.fingerprint, expected),
    );
  }

  /** A RecordNextKey: records the next key a server announced in its sealed completion. */
  readonly recordNextKey: RecordNextKey = (server, trusted, next) =>
    this.serialised(async () => {
      const ids = trusted.pinnedAs ?? [];
      if (ids.length === 0) return undefined;
      try {
        const file = await this.read();
        const missing = missingNextPins(file.parsed, ids, next.fingerprint);
        if (missing.length === 0) return undefined; // announced before: the common case during a rotation
        await this.append(file.text, missing.map((id) => nextKeyLine(id, next.fingerprint)).join(''));
        return `The server at ${server.id} announced its next key ${next.fingerprint} for a key rotation; it is remembered, so the switch will not look like a different key.`;
      } catch (e) {
        return `The server at ${server.id} announced its next key ${next.fingerprint}, but it could not be remembered (${this.shownPath}: ${reason(e)}).`;
      }
    });

  /** Runs `work` after every earlier check, so that two windows meeting a new server pin it once. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
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

  private async checkPinned(server: ServerIdentity, presented: string, acceptUnpinned: boolean): Promise<KeyTrust> {
    const id = server.id;
    let file;
    try {
      file = await this.read();
    } catch (e) {
      throw new HandshakeError('known_servers', `Cannot read the known-servers file ${this.shownPath}: ${reason(e)}.`, undefined, undefined, [
        "It holds the keys of the servers you talked to before; without it the server's key cannot be checked. Fix the file's permissions, or enter the server's key fingerprint under Advanced.",
      ]);
    }
    const decision = decideTrust(file.parsed, id, server.address, presented);
    const at = server.address !== undefined && server.address !== id ? ` (${server.address})` : '';
    switch (decision.verdict) {
      case 'mismatch':
      case 'address_mismatch': {
        const byAddress = decision.verdict === 'address_mismatch';
        throw new HandshakeError(
          'server_key_mismatch',
          byAddress
            ? `The server at ${id} is new, but the address it resolved to, ${server.address}, is remembered with a different key, so the connection was stopped. Nothing secret was sent.`
            : `The server at ${id} presented a different key than the one remembered for it, so the connection was stopped. Nothing secret was sent.`,
          undefined,
          'serverKey',
          [
            "Someone may be intercepting the connection, or the server's key was replaced (for example, when the server was reinstalled).",
            `Key presented: ${presented}`,
            `Key remembered: ${decision.pinned.fingerprint}`,
            `If the server's operator confirms the new key, enter its fingerprint under Advanced and connect again: it then replaces the old one (line ${decision.pinned.line} of ${this.shownPath}).`,
          ],
        );
      }
      case 'rotated': {
        let note = `The server at ${id} switched to the key it had announced (${presented}); the old key is no longer trusted.`;
        try {
          await this.rewrite(rotatedText(file.text, file.parsed, decision.toPin, presented));
        } catch (e) {
          note = `The server at ${id} switched to the key it had announced (${presented}); the old key could not be removed (${this.shownPath}: ${reason(e)}).`;
        }
        return { pin: 'rotated', note, pinnedAs: decision.toPin };
      }
      case 'known': {
        // Only the address may be new: the name's pin checks the key next time all the same.
        const pinnedAs = [id];
        if (decision.toPin.length > 0) {
          try {
            await this.append(file.text, decision.toPin.map((s) => knownServerLine(s, presented)).join(''));
            pinnedAs.push(...decision.toPin);
          } catch {
            // Not needed to check this server next time: its name is pinned.
          }
        }
        if (decision.addressConflict) {
          return {
            pin: 'known',
            note: `The key of ${id} is the remembered one, but its address ${server.address} is remembered with a different key (line ${decision.addressConflict.line} of ${this.shownPath}).`,
            pinnedAs,
          };
        }
        return { pin: 'known', pinnedAs };
      }
      case 'known_by_address':
      case 'first_contact':
        break;
    }
    const known = decision.verdict === 'known_by_address';
    try {
      await this.append(file.text, decision.toPin.map((s) => knownServerLine(s, presented)).join(''));
    } catch (e) {
      if (known) {
        return { pin: 'known', note: `${id} has the key remembered for its address ${server.address}; the name could not be remembered as well (${this.shownPath}: ${reason(e)}).`, pinnedAs: [server.address!] };
      }
      if (!acceptUnpinned) {
        throw new HandshakeError(
          'pin_not_stored',
          `First connection to ${id}${at}, but its key fingerprint ${presented} could not be remembered (${this.shownPath}: ${reason(e)}), so the connection was stopped. Nothing secret was sent.`,
          undefined,
          'acceptUnpinned',
          [
            'Without it the key cannot be checked next time, and an impostor would go unnoticed.',
            'Fix the file (or its directory), or tick “Connect even if the key cannot be remembered” under Advanced.',
          ],
        );
      }
      return {
        pin: 'not_saved',
        note: `First connection to ${id}. Its key fingerprint ${presented} could not be remembered (${this.shownPath}: ${reason(e)}), so it will not be checked next time.`,
      };
    }
    if (known) {
      return { pin: 'known', note: `${id} has the key remembered for its address ${server.address}; the name is now remembered too.`, pinnedAs: decision.toPin.concat(server.address!) };
    }
    return { pin: 'first_contact', note: `First connection to ${id}${at}. Its key fingerprint ${presented} is now remembered.`, pinnedAs: decision.toPin };
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
      if (check.status === 'match') return { pin: 'given', note: "The server's key matches the fingerprint you entered.", pinnedAs: [id] };
      if (check.status === 'unknown') {
        await this.append(file.text, knownServerLine(id, presented));
        return { pin: 'given', note: `The server's key matches the fingerprint you entered. ${presented} is now remembered for ${id}.`, pinnedAs: [id] };
      }
      await this.replace(file.text, file.parsed, id, presented);
      return {
        pin: 'replaced',
        pinnedAs: [id],
        note: `The server's key matches the fingerprint you entered and replaces the key remembered for ${id} before (${check.pinned.fingerprint}). ${presented} is now remembered.`,
      };
    } catch (e) {
      return {
        pin: 'given',
        note: `The server's key matches the fingerprint you entered. It could not be remembered (${this.shownPath}: ${reason(e)}).`,
      };
    }
  }

  /** Appends complete lines, creating the directories (0700) and the file (0600) as needed. */
  private async append(text: string, lines: string): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const line = (text !== '' && !text.endsWith('\n') ? '\n' : '') + lines;
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
    await this.rewrite(kept.map((l) => l + '\n').join('') + knownServerLine(id, fingerprint));
  }

  /** Replaces the file's text atomically: write a temporary file beside it, then rename. */
  private async rewrite(next: string): Promise<void> {
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
