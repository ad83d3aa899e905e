// The TCRP exchange (docs/protocol.md §3.3) over any ByteStream: send the request, read the
// state-1 frame with one reader, then the state-2 frame with a second reader on the same stream.
// A HandshakeCrypto seals the request payload and opens the replies' (§12.3); framing and the
// checks of every reply are the same with and without encryption.

import { plaintextHandshake, type HandshakeCrypto } from './crypto';
import { HandshakeError, ProtocolError, type HandshakeErrorField } from './errors';
import { decodeReply, encodeRequestPayload, type Completion, type HandshakeRequest } from './payloads';
import { encodeFrame, FrameReader, State, type TcrpFrame } from './tcrp';
import type { ByteStream } from './transport';
import { encodeUtf8 } from './utf8';

/** The errors a server sends unencrypted to an encrypted request: before it could read it (§12.3). */
const UNSEALED_ERRORS: ReadonlySet<string> = new Set(['bad_request', 'server_busy', 'rate_limited']);

export interface HandshakeOutcome {
  completion: Completion;
  /** The `message` of the server's 202, for people (may be empty). */
  acceptedMessage: string;
}

/**
 * Encodes the request frame (§3.1, §4.1), its payload sealed by `crypto` (plaintext by default).
 * A sealed request carries the time it is sealed at (§12.3): `request.sentAt`, else the clock's.
 */
export function encodeRequest(request: HandshakeRequest, crypto: HandshakeCrypto = plaintextHandshake): Uint8Array {
  const timed = crypto.security.encrypted ? { ...request, sentAt: request.sentAt ?? unixSeconds() } : request;
  return encodeFrame(request.operation, State.request, request.room, crypto.sealRequest(encodeUtf8(encodeRequestPayload(timed))));
}

/** The wall clock, in whole seconds since the Unix epoch. */
function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Runs one request on `stream`. Resolves with the completion; rejects with a HandshakeError
 * carrying the server's code and message, or a local code when the reply is malformed or the
 * connection ends early. Does not close the stream.
 */
export function runHandshake(
  stream: ByteStream,
  request: HandshakeRequest,
  crypto: HandshakeCrypto = plaintextHandshake,
  maxPayload?: number,
): Promise<HandshakeOutcome> {
  return new Promise<HandshakeOutcome>((resolve, reject) => {
    let reader = new FrameReader(maxPayload);
    let expect: 1 | 2 = 1;
    let acceptedMessage = '';
    let settled = false;

    const fail = (error: HandshakeError): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };

    const feed = (chunk: Uint8Array): void => {
      let bytes = chunk;
      while (!settled && bytes.length > 0) {
        let result;
        try {
          result = reader.push(bytes);
          if (!result) return;
          const { frame, errorOnly } = open(result.frame, expect, crypto);
          const reply = decodeReply(frame, request, expect);
          if (errorOnly) {
            // §12.3: an unencrypted state-1 payload cannot be authenticated. A genuine server sends
            // only these before it could read the request; anything else is forged (libchat's
            // client_exchange has the same rule, and test/vectors/transcripts.json checks both).
            if (reply.kind === 'error' && UNSEALED_ERRORS.has(reply.error)) {
              fail(
                new HandshakeError(reply.error, reply.message, reply.status, undefined, [
                  'This answer was not encrypted, so it could not be checked: it may not come from the server.',
                ], true),
              );
              return;
            }
            fail(
              new HandshakeError(
                'bad_handshake',
                'The server answered an encrypted request without encryption. Someone may be interfering with the connection; nothing more was sent.',
              ),
            );
            return;
          }
          if (reply.kind === 'error') {
            fail(serverError(reply.error, reply.message, reply.status, request));
            return;
          }
          if (reply.kind === 'accepted') {
            acceptedMessage = reply.message;
            expect = 2;
            reader = new FrameReader(maxPayload);
            bytes = result.rest;
            continue;
          }
          settled = true;
          resolve({ completion: reply.completion, acceptedMessage });
          return;
        } catch (e) {
          if (e instanceof HandshakeError) {
            fail(e);
            return;
          }
          if (e instanceof ProtocolError) {
            fail(new HandshakeError('malformed_reply', `The server sent a malformed reply: ${e.message}.`));
            return;
          }
          throw e;
        }
      }
    };

    stream.onData(feed);
    stream.onEnd(() =>
      fail(
        new HandshakeError(
          'connection_closed',
          reader.started
            ? 'The server closed the connection in the middle of its reply.'
            : 'The server closed the connection without answering. It may be busy; try again in a moment.',
        ),
      ),
    );
    stream.onError((error) => fail(new HandshakeError('connection_closed', `The connection to the server failed: ${error.message}.`)));
    try {
      stream.write(encodeRequest(request, crypto));
    } catch (e) {
      if (e instanceof HandshakeError) fail(e);
      else throw e;
    }
  });
}

/**
 * The frame with its payload opened. A frame in an unexpected state is passed on as it is:
 * decodeReply says what is wrong with it.
 */
function open(frame: TcrpFrame, expect: 1 | 2, crypto: HandshakeCrypto): { frame: TcrpFrame; errorOnly: boolean } {
  if (frame.state !== expect) return { frame, errorOnly: false };
  if (expect === State.response) {
    const opened = crypto.openResponse(frame.payload);
    return { frame: { ...frame, payload: opened.json }, errorOnly: opened.errorOnly };
  }
  return { frame: { ...frame, payload: crypto.openCompletion(frame.payload) }, errorOnly: false };
}

/** The server's error, with what to do about the ones of encrypted sessions (§4.3). */
function serverError(code: HandshakeError['code'], message: string, status: number, request: HandshakeRequest): HandshakeError {
  switch (code) {
    case 'encryption_required':
      return new HandshakeError(
        code,
        request.operation === 2
          ? 'This server or this room accepts encrypted connections only.'
          : 'This server accepts encrypted connections only.',
        status,
        'allowPlaintext',
        ['Untick “Allow unencrypted connection” under Advanced and try again.', `The server said: ${message}`],
      );
    case 'encryption_mismatch':
      return new HandshakeError(
        code,
        `The room “${request.room}” is not encrypted: its host connected with the old unencrypted protocol, and an encrypted connection cannot join it.`,
        status,
        'allowPlaintext',
        [
          'To join it anyway, tick “Allow unencrypted connection” under Advanced. Everything you send in it, and the room password, can then be read by anyone on the network.',
        ],
      );
    default:
      return new HandshakeError(code, message, status, fieldFor(code));
  }
}

function fieldFor(code: string): HandshakeErrorField | undefined {
  switch (code) {
    case 'bad_password':
      return 'password';
    case 'name_taken':
      return 'username';
    case 'room_exists':
    case 'room_not_found':
    case 'room_full':
      return 'room';
    default:
      return undefined;
  }
}
