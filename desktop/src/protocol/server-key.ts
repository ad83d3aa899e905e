// Operation 3 (docs/protocol.md §12.2): the server's static key, on a TCP connection of its own.
// Request: RoomNameSize 0, empty payload. Answer: one state-1 frame,
// {"status":200,"key":"<b64u>","fingerprint":"SHA256:…"}, whose fingerprint must match the key.

import { HandshakeError, ProtocolError, type HandshakeErrorCode } from './errors';
import { field, JsonSyntaxError, parseJsonObject, type JsonObject } from './json';
import { decodeBase64Url } from './base64url';
import { isSmallOrderKey, keyFingerprint, X25519_KEY_BYTES } from './noise';
import { SERVER_ERRORS } from './payloads';
import { encodeFrame, FrameReader, Operation, State, type TcrpFrame } from './tcrp';
import type { ByteStream } from './transport';
import { decodeUtf8 } from './utf8';

export interface ServerKey {
  /** The 32-byte X25519 public key. */
  key: Uint8Array;
  /** "SHA256:…", computed here from the key (and checked against what the server said). */
  fingerprint: string;
}

/** The operation-3 request: no room name, no payload. */
export function encodeServerKeyRequest(): Uint8Array {
  return encodeFrame(Operation.serverKey, State.request, '', '');
}

/**
 * Checks the server's answer to operation 3. Throws ProtocolError when the frame breaks the spec
 * (including a fingerprint that does not match the key), or HandshakeError when the server refused
 * (an older server that does not know operation 3 answers bad_request).
 */
export function decodeServerKeyReply(frame: TcrpFrame, where: string): ServerKey {
  if (frame.state !== State.response) throw new ProtocolError('malformed', `the key answer has state ${frame.state}, not 1`);
  if (frame.operation !== Operation.serverKey) throw new ProtocolError('malformed', `the key answer carries operation ${frame.operation}, not 3`);
  if (frame.room.length !== 0) throw new ProtocolError('malformed', 'the key answer names a room');
  const text = decodeUtf8(frame.payload);
  if (text === undefined) throw new ProtocolError('invalid_utf8', 'the key answer is not valid UTF-8');
  let payload: JsonObject;
  try {
    payload = parseJsonObject(text);
  } catch (e) {
    throw new ProtocolError('invalid_json', `the key answer is not a JSON object (${e instanceof JsonSyntaxError ? e.message : String(e)})`);
  }
  const status = field(payload, 'status');
  if (typeof status !== 'number' || !Number.isInteger(status)) throw new ProtocolError('malformed', 'the key answer has no integer "status"');
  const error = field(payload, 'error');
  if (error !== undefined || status >= 400) {
    const message = field(payload, 'message');
    const said = typeof message === 'string' && message.trim() !== '' ? message : `status ${status}`;
    if (error === 'bad_request' || (typeof error !== 'string' && status === 400)) {
      throw new HandshakeError(
        'server_key_unavailable',
        `The server at ${where} did not give out its key for an encrypted connection. It may be an older chat-server that speaks only the unencrypted protocol.`,
        status,
        undefined,
        [
          `It said: ${said}`,
          'If you trust every network between you and this server, you can tick “Allow unencrypted connection” under Advanced; otherwise ask its operator to update it.',
        ],
      );
    }
    const known = typeof error === 'string' && SERVER_ERRORS[error] === status;
    throw new HandshakeError((known ? error : 'internal_error') as HandshakeErrorCode, said, status);
  }
  if (status !== 200) throw new ProtocolError('malformed', `the key answer has status ${status}, not 200`);
  const keyText = field(payload, 'key');
  const key = typeof keyText === 'string' ? decodeBase64Url(keyText) : undefined;
  if (!key || key.length !== X25519_KEY_BYTES) throw new ProtocolError('malformed', 'the key answer has no 32-byte "key"');
  const fingerprint = keyFingerprint(key);
  if (field(payload, 'fingerprint') !== fingerprint) {
    throw new ProtocolError('malformed', 'the fingerprint in the key answer does not match the key');
  }
  // Refused before it can be pinned or sealed to: nothing agreed with such a key is secret.
  if (isSmallOrderKey(key)) {
    throw new ProtocolError('malformed', 'its key is a small-order X25519 point, which no key agreement can use; nothing was sent or remembered');
  }
  return { key, fingerprint };
}

/**
 * Sends the operation-3 request on `stream` and reads the one frame of the answer. Does not close
 * the stream. Rejects with HandshakeError.
 */
export function requestServerKey(stream: ByteStream, where: string, maxPayload?: number): Promise<ServerKey> {
  return new Promise<ServerKey>((resolve, reject) => {
    const reader = new FrameReader(maxPayload);
    let settled = false;
    const settle = (outcome: () => ServerKey): void => {
      if (settled) return;
      settled = true;
      try {
        resolve(outcome());
      } catch (e) {
        if (e instanceof ProtocolError) reject(new HandshakeError('malformed_reply', `The server at ${where} sent a malformed key answer: ${e.message}.`));
        else reject(e);
      }
    };
    stream.onData((chunk) => {
      if (settled) return;
      let result;
      try {
        result = reader.push(chunk);
      } catch (e) {
        settle(() => {
          throw e;
        });
        return;
      }
      if (result) {
        const frame = result.frame;
        settle(() => decodeServerKeyReply(frame, where));
      }
    });
    const closed = (message: string): void =>
      settle(() => {
        throw new HandshakeError('connection_closed', message);
      });
    stream.onEnd(() =>
      closed(
        reader.started
          ? `The server at ${where} closed the connection in the middle of its key.`
          : `The server at ${where} closed the connection without giving its key. It may be busy; try again in a moment.`,
      ),
    );
    stream.onError((error) => closed(`The connection to the server at ${where} failed: ${error.message}.`));
    stream.write(encodeServerKeyRequest());
  });
}
