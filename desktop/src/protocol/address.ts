// Parsing a server address typed by a person: HOST:PORT, [IPv6]:PORT, or HOST alone (port 9000).

import { DEFAULT_PORT } from './limits';

export interface ServerAddress {
  host: string;
  port: number;
}

/** Returns the address, or a sentence saying what is wrong with it. */
export function parseServerAddress(text: string): ServerAddress | string {
  const input = text.trim();
  if (input === '') return 'Enter the server address, for example 127.0.0.1:9000.';
  let host: string;
  let portText: string | undefined;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 2) return 'An IPv6 address goes in brackets, for example [::1]:9000.';
    host = input.slice(1, close);
    const after = input.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return 'Write the server address as HOST:PORT, for example 127.0.0.1:9000.';
      portText = after.slice(1);
    }
  } else {
    const colon = input.lastIndexOf(':');
    if (colon !== input.indexOf(':')) return 'An IPv6 address goes in brackets, for example [::1]:9000.';
    if (colon === -1) host = input;
    else {
      host = input.slice(0, colon);
      portText = input.slice(colon + 1);
    }
  }
  if (host === '' || /[\s/\\@?#]/.test(host)) return 'Write the server address as HOST:PORT, for example 127.0.0.1:9000.';
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return 'The port must be a number from 1 to 65535.';
    port = Number(portText);
    if (port < 1 || port > 65535) return 'The port must be a number from 1 to 65535.';
  }
  return { host, port };
}

export function formatServerAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
