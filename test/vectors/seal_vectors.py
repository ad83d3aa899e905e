#!/usr/bin/env python3
"""Recomputes the sealed handshake payloads of the shared vectors (docs/protocol.md §12.3).

The sealed request carries the time it was sealed at, and every later handshake payload is
authenticated over a hash of the request, so a change to the request JSON changes them all. This
script derives them from the fixed keys and the fixed time already in the files, independently of
libchat and of the desktop client (Python's `cryptography`), and writes them back:

  - protocol.json, "encrypted": request_json, request_payload, response_payload, completion_payload;
  - protocol.json, "encrypted", "key_update": the first datagrams under each direction's second key
    (counter key_datagrams, docs/protocol.md §12.4), with the updated keys;
  - transcripts.json: every encrypted case gets the same "time"; the encrypted create cases get the
    sealed 202 and 201 of protocol.json (same keys, same request), or seal their own
    "completion_json" when they carry one.

Deterministic: run it twice, the files do not change. Usage: python3 test/vectors/seal_vectors.py
"""

import base64
import hashlib
import json
import pathlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = pathlib.Path(__file__).resolve().parent
PROTOCOL_NAME = b"libchat/1 Noise_NK_25519_AESGCM_SHA256"
# 2026-01-01T00:00:00Z: the "time" of every sealed request in the vectors.
VECTOR_TIME = 1767225600


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def public_of(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def dh(private: bytes, public: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public))


def hkdf(salt: bytes, ikm: bytes, info: bytes) -> tuple[bytes, bytes]:
    out = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=info).derive(ikm)
    return out[:32], out[32:]


def nonce(n: int) -> bytes:
    return bytes(4) + n.to_bytes(8, "big")


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Transcript:
    def __init__(self, operation: int, room: str, server_static: bytes):
        self.h = sha256(PROTOCOL_NAME)
        self.ck = self.h
        room_bytes = room.encode()
        self.mix_hash(b"TCRP" + bytes([operation, len(room_bytes)]) + room_bytes)
        self.mix_hash(server_static)
        self.k = b""

    def mix_hash(self, data: bytes) -> None:
        self.h = sha256(self.h + data)

    def mix_key(self, shared: bytes) -> None:
        self.ck, self.k = hkdf(self.ck, shared, b"libchat mix")

    def encrypt(self, n: int, plaintext: bytes) -> bytes:
        ct = AESGCM(self.k).encrypt(nonce(n), plaintext, self.h)
        self.mix_hash(ct)
        return ct


def seal(operation, room, server_private, client_private, server_ephemeral_private, request_json, response_json,
         completion_json):
    """The three payloads of one sealed exchange, computed as both sides do."""
    server_static = public_of(server_private)
    t = Transcript(operation, room, server_static)
    client_e = public_of(client_private)
    t.mix_hash(client_e)
    t.mix_key(dh(client_private, server_static))
    request = compact({"e": b64u(client_e), "ct": b64u(t.encrypt(0, request_json.encode()))})
    server_e = public_of(server_ephemeral_private)
    t.mix_hash(server_e)
    t.mix_key(dh(server_ephemeral_private, client_e))
    response = compact({"e": b64u(server_e), "ct": b64u(t.encrypt(0, response_json.encode()))})
    completion = compact({"ct": b64u(t.encrypt(1, completion_json.encode()))})
    return request, response, completion, t.ck


def split(ck: bytes) -> tuple[bytes, bytes]:
    """The datagram keys: client to server, server to client."""
    return hkdf(ck, b"", b"libchat split")


def update(key: bytes) -> bytes:
    """A direction's next datagram key: the first half of HKDF(key, "", "libchat key update")."""
    return hkdf(key, b"", b"libchat key update")[0]


def client_datagram(key: bytes, room: str, session_id: int, counter: int, message: bytes) -> bytes:
    header = bytes([len(room.encode()), 8]) + room.encode() + session_id.to_bytes(8, "big") + counter.to_bytes(8, "big")
    return header + AESGCM(key).encrypt(nonce(counter), message, header)


def server_datagram(key: bytes, counter: int, plaintext: bytes) -> bytes:
    header = counter.to_bytes(8, "big")
    return header + AESGCM(key).encrypt(nonce(counter), plaintext, header)


def timed_request_json(username, password, time) -> str:
    # The key order both clients write: username, password (when there is one), time.
    body = {"username": username}
    if password:
        body["password"] = password
    body["time"] = time
    return compact(body)


def main() -> None:
    protocol_path = HERE / "protocol.json"
    transcripts_path = HERE / "transcripts.json"
    protocol = json.loads(protocol_path.read_text())
    transcripts = json.loads(transcripts_path.read_text())

    enc = protocol["encrypted"]
    old_request = json.loads(enc["request_json"])
    enc["time"] = VECTOR_TIME
    enc["request_json"] = timed_request_json(old_request["username"], old_request.get("password"), VECTOR_TIME)
    request, response, completion, ck = seal(
        enc["operation"], enc["room"], bytes.fromhex(enc["server_static_private_hex"]),
        bytes.fromhex(enc["client_ephemeral_private_hex"]), bytes.fromhex(enc["server_ephemeral_private_hex"]),
        enc["request_json"], enc["response_json"], enc["completion_json"])
    enc["request_payload"], enc["response_payload"], enc["completion_payload"] = request, response, completion

    # The datagrams at counter 0 under the first keys, as already in the file (a cross-check of
    # the split), then the first ones under each direction's updated key.
    c2s, s2c = split(ck)
    cd, sd = enc["client_datagram"], enc["server_datagram"]
    assert client_datagram(c2s, cd["room"], enc["session_id"], 0, cd["message"].encode()).hex() == cd["hex"]
    assert server_datagram(s2c, 0, bytes.fromhex(sd["plaintext_hex"])).hex() == sd["hex"]
    interval = 2048
    enc["key_update"] = {
        "description": "key_datagrams 2048 (as a completion may announce): the datagrams with counter 2048 are "
                       "the first under each direction's second key, k' = first half of HKDF(k, '', 'libchat key update')",
        "key_datagrams": interval,
        "c2s_key_1_hex": update(c2s).hex(),
        "s2c_key_1_hex": update(s2c).hex(),
        "client_datagram": {"room": cd["room"], "counter": interval, "message": cd["message"],
                            "hex": client_datagram(update(c2s), cd["room"], enc["session_id"], interval,
                                                   cd["message"].encode()).hex()},
        "server_datagram": {"counter": interval, "plaintext_hex": sd["plaintext_hex"],
                            "hex": server_datagram(update(s2c), interval, bytes.fromhex(sd["plaintext_hex"])).hex()},
    }

    for case in transcripts["cases"]:
        if not case["encrypted"]:
            continue
        case["time"] = VECTOR_TIME
        if "grant" in case["expect"]:
            # The create of protocol.json, replayed by the client machines: same keys, same request.
            assert case["operation"] == enc["operation"] and case["room"] == enc["room"]
            assert case["client_ephemeral_private_hex"] == enc["client_ephemeral_private_hex"]
            assert timed_request_json(case["username"], case["password"], VECTOR_TIME) == enc["request_json"]
            case["replies"][0]["payload"] = response
            case["replies"][1]["payload"] = completion
            if "completion_json" in case:
                # A case whose sealed 201 differs from protocol.json's (the next-key announcement):
                # the same exchange, sealing its own completion.
                _, own_response, own_completion, _ = seal(
                    enc["operation"], enc["room"], bytes.fromhex(enc["server_static_private_hex"]),
                    bytes.fromhex(enc["client_ephemeral_private_hex"]),
                    bytes.fromhex(enc["server_ephemeral_private_hex"]), enc["request_json"], enc["response_json"],
                    case["completion_json"])
                case["replies"][0]["payload"] = own_response
                case["replies"][1]["payload"] = own_completion

    protocol_path.write_text(json.dumps(protocol, indent=2, ensure_ascii=False) + "\n")
    transcripts_path.write_text(json.dumps(transcripts, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
