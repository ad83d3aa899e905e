#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the shared protocol vectors.

    python3 fuzz/make_seeds.py            # (re)writes fuzz/corpus/<target>/ from test/vectors/protocol.json

Every frame, payload and datagram of test/vectors/protocol.json becomes one seed file of the target
that decodes it; the operation-program targets (fuzz_room_ops, fuzz_lobby) get short programs that
play the vectors' datagrams through a room or the lobby. The layouts written here are the ones the
targets document at the top of their source: change both together.
"""
import json
import os
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "test", "vectors", "protocol.json")
CORPUS = os.path.join(HERE, "corpus")
TARGETS = ["fuzz_tcrp_stream", "fuzz_tcrp_request", "fuzz_tcrp_response", "fuzz_udp_c2s", "fuzz_udp_s2c",
           "fuzz_utf8", "fuzz_room_ops", "fuzz_lobby", "fuzz_replay_window", "fuzz_server_exchange"]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main():
    with open(VECTORS, encoding="utf-8") as f:
        v = json.load(f)
    seeds = {t: {} for t in TARGETS}

    def add(target, name, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        base, n = slug(name), 2
        key = base
        while key in seeds[target] and seeds[target][key] != data:
            key = f"{base}-{n}"
            n += 1
        seeds[target][key] = data

    # TCRP: whole frames for the stream reader (then 3 trailing bytes read from the end by
    # FuzzedDataProvider: no chunk sizes, max_payload 8192, direction), payloads for the parsers.
    frames = {}
    for t in v["tcrp"]:
        frame = bytes.fromhex(t["hex"])
        frames[t["name"]] = frame
        direction = 0 if t["state"] == 0 else 1
        add("fuzz_tcrp_stream", t["name"], frame + bytes([0, 0, direction]))
        add("fuzz_tcrp_request" if t["state"] == 0 else "fuzz_tcrp_response", t["name"], t["payload"])
        if t["room"]:
            add("fuzz_utf8", "room " + t["room"], t["room"])
        add("fuzz_utf8", "payload " + t["name"], t["payload"])
    # A client reads a response and then a completion from one stream.
    if "accepted response" in frames and "created completion" in frames:
        add("fuzz_tcrp_stream", "accepted then created",
            frames["accepted response"] + frames["created completion"] + bytes([0, 0, 1]))
    for key in ("completion_json", "response_json", "server_key_response"):
        if key in v.get("encrypted", {}):
            add("fuzz_tcrp_response", "encrypted " + key, v["encrypted"][key])
    if "request_json" in v.get("encrypted", {}):
        add("fuzz_tcrp_request", "encrypted request_json", v["encrypted"]["request_json"])

    # UDP.
    for d in v["client_datagrams"]:
        add("fuzz_udp_c2s", d["name"], bytes.fromhex(d["hex"]))
        add("fuzz_utf8", "message " + d["name"], bytes.fromhex(d["message_hex"]))
        add("fuzz_utf8", "token", d["token"])
    for d in v["server_datagrams"]:
        add("fuzz_udp_s2c", d["name"] + " " + d["text_hex"][-12:], bytes.fromhex(d["hex"]))
        add("fuzz_utf8", "text " + d["name"] + " " + d["text_hex"][-12:], bytes.fromhex(d["text_hex"]))
        if d["sender"]:
            add("fuzz_utf8", "sender " + d["sender"], d["sender"])
    for d in v["lobby_datagrams"]:
        add("fuzz_udp_s2c", "lobby " + d["name"], bytes.fromhex(d["hex"]))
        add("fuzz_utf8", "username " + d["username"], d["username"])

    # fuzz_room_ops programs (see the op list in fuzz_room_ops.cpp). Slot 0 is the room "lobby".
    def create(slot, username_index, ip, max_members=3, inactivity=1000, ttl=500, unreachable=1):
        return bytes([0, slot, max_members - 2]) + struct.pack(">HH", inactivity - 50, ttl - 50) + \
            bytes([unreachable, username_index, ip])

    def admit(slot, username_index, ip):
        return bytes([1, slot, username_index, ip])

    def datagram(slot, member, message):
        # token kind 0 (a member's), member index, from: ip, port, kind 0 (its own endpoint),
        # message kind 4 (raw bytes, length then bytes)
        return bytes([2, slot, 0, member, 0, 0, 0, 4, len(message)]) + message

    def advance_ms(ms):
        return bytes([6, 0]) + struct.pack(">H", ms)

    def expire(slot):
        return bytes([7, slot])

    messages = {d["kind"] + " " + d["name"]: bytes.fromhex(d["message_hex"]) for d in v["client_datagrams"]}
    keepalive = next((m for k, m in messages.items() if k.startswith("keepalive")), b"")
    leave = next((m for k, m in messages.items() if k.startswith("control")), b"\x00{\"type\":\"leave\"}")
    chats = [m for k, m in messages.items() if k.startswith("chat")]

    conversation = create(0, 0, 0) + admit(0, 1, 1) + datagram(0, 0, keepalive) + datagram(0, 1, keepalive)
    for c in chats:
        conversation += datagram(0, 0, c) + datagram(0, 1, c)
    add("fuzz_room_ops", "conversation", conversation + datagram(0, 1, leave))
    add("fuzz_room_ops", "host leaves", conversation + datagram(0, 0, leave) + create(0, 2, 2))
    add("fuzz_room_ops", "timeouts", conversation + advance_ms(600) + expire(0) + advance_ms(1000) + expire(0))
    add("fuzz_room_ops", "two rooms", create(0, 0, 0) + create(1, 1, 0) + datagram(0, 0, keepalive) +
        datagram(1, 0, keepalive) + bytes([9]))

    # fuzz_lobby programs: limits (max_members, inactivity) then ops; op 0 with a raw datagram.
    def lobby_datagram(address, raw):
        return bytes([0, address, 0]) + struct.pack(">H", len(raw)) + raw

    for d in v["lobby_datagrams"]:
        raw = bytes.fromhex(d["hex"])
        name_len = raw[0]
        keep = raw[:1 + name_len]
        program = bytes([4]) + struct.pack(">H", 950)
        program += lobby_datagram(0, keep) + lobby_datagram(1, keep) + lobby_datagram(0, raw) + lobby_datagram(1, raw)
        program += bytes([1, 0]) + struct.pack(">H", 600) + lobby_datagram(2, raw) + bytes([1, 2, 2, 3])
        add("fuzz_lobby", d["name"], program)

    # Edge cases of the threat model (§2.7: every length field can lie), written by hand, so that
    # every build replays them too.
    def header(room_size, op, state, size_field):
        assert len(size_field) == 29
        return bytes([room_size, op, state]) + size_field

    def size(n):
        return n.to_bytes(29, "big")

    edges = {
        "size 2^64+10": header(5, 1, 0, size(2**64 + 10)) + b"lobby" + b"{}" + bytes([0, 0, 0]),
        "size top byte": header(5, 1, 0, b"\x01" + bytes(28)) + bytes([0, 0, 0]),
        "size 8193": header(5, 1, 0, size(8193)) + b"lobby" + bytes([0, 0, 0]),
        "unknown operation": header(5, 9, 0, size(2)) + b"lobby{}" + bytes([0, 0, 0]),
        "state 1 to server": header(5, 1, 1, size(2)) + b"lobby{}" + bytes([0, 0, 0]),
        "empty room name": header(0, 1, 0, size(2)) + b"{}" + bytes([0, 0, 0]),
        "trailing byte": header(5, 1, 0, size(2)) + b"lobby{}X" + bytes([0, 0, 0]),
        "state 0 to client": header(5, 1, 0, size(2)) + b"lobby{}" + bytes([0, 0, 1]),
        "empty room completion": header(0, 1, 2, size(2)) + b"{}" + bytes([0, 0, 1]),
        "byte by byte": header(5, 1, 0, size(20)) + b'lobby{"username":"alice"}' + bytes([0] * 2 * 16 + [16, 0, 0]),
    }
    for bad in (b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf5", b"\xf0\x9f\x91", b"\x1b", b"\xc2\x85"):
        name = b"lob" + bad
        edges["room name " + bad.hex()] = header(len(name), 1, 0, size(2)) + name + b"{}" + bytes([0, 0, 0])
        add("fuzz_utf8", "edge " + bad.hex(), b"ok" + bad)
    for name, data in edges.items():
        add("fuzz_tcrp_stream", "edge " + name, data)

    requests = {
        "lone surrogate": '{"username":"\\ud800"}',
        "nul in name": '{"username":"a\\u0000"}',
        "duplicate key": '{"username":"a","username":"b"}',
        "empty username": '{"username":""}',
        "long username": '{"username":"' + "u" * 256 + '"}',
        "password 1024": '{"username":"a","password":"' + "p" * 1024 + '"}',
        "password 1025": '{"username":"a","password":"' + "p" * 1025 + '"}',
        "password number": '{"username":"a","password":5}',
        "password null": '{"username":"a","password":null}',
        "deep": '{"username":"a","x":' + "[" * 4096 + "]" * 4096 + "}",
        "comment": '{"username":"a"/* c */}',
        "trailing comma": '{"username":"a",}',
        "nan": '{"username":"a","x":NaN}',
        "not an object": '["username","a"]',
    }
    for name, text in requests.items():
        add("fuzz_tcrp_request", "edge " + name, text)
    responses = {
        "status mismatch": '{"status":404,"error":"room_exists","message":"m"}',
        "unknown error": '{"status":418,"error":"teapot","message":"m"}',
        "port 0": '{"status":201,"token":"t","udp_port":0,"host":true}',
        "token space": '{"status":201,"token":"a b","udp_port":9000}',
        "status float": '{"status":202.0,"message":"m"}',
        # A rotation's next key (docs/protocol.md section 12.3): the base point, then a small-order one.
        "next key": '{"status":201,"token":"t","udp_port":9000,"host":true,"session":"AAAAAAAAAAE",'
                    '"next_key":"CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}',
        "next key small order": '{"status":201,"token":"t","udp_port":9000,'
                                '"next_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}',
    }
    for name, text in responses.items():
        add("fuzz_tcrp_response", "edge " + name, text)

    token = v["token_example"]["text"].encode()
    c2s = {
        "4097 bytes": bytes([5, 32]) + b"lobby" + token + b"a" * (4097 - 39),
        "4096 bytes": bytes([5, 32]) + b"lobby" + token + b"a" * (4096 - 39),
        "one byte": b"\x05",
        "zero room size": bytes([0, 32]) + token,
        "sizes past the end": bytes([5, 200]) + b"lobby" + token,
        "control bad json": bytes([5, 32]) + b"lobby" + token + b"\x00{\"type\":",
        "control unknown type": bytes([5, 32]) + b"lobby" + token + b"\x00{\"type\":\"kick\"}",
        "sealed": bytes([5, 8]) + b"lobby" + bytes(8) + bytes(28),
    }
    for name, data in c2s.items():
        add("fuzz_udp_c2s", "edge " + name, data)
    s2c = {
        "4095 bytes": bytes([5]) + b"alice" + b"a" * (4095 - 6),
        "4094 bytes": bytes([5]) + b"alice" + b"a" * (4094 - 6),
        "sender past the end": bytes([9]) + b"alice",
        "notice without event": b"\x00{\"user\":\"bob\"}",
        "notice unknown event": b"\x00{\"event\":\"kicked\",\"user\":\"bob\"}",
        "notice user number": b"\x00{\"event\":\"joined\",\"user\":5}",
    }
    for name, data in s2c.items():
        add("fuzz_udp_s2c", "edge " + name, data)

    # fuzz_replay_window: counters of sealed datagrams (see the op list in fuzz_replay_window.cpp;
    # bit 7 = the datagram verifies). The vectors' sealed datagrams start at counter 0.
    verified = 0x80
    in_order = bytes([verified | 2]) + bytes(8) + bytes([verified | 0, 0] * 8)
    add("fuzz_replay_window", "in order then replays", in_order + bytes([3, 0, 3, 5, verified | 3, 7]))
    add("fuzz_replay_window", "jump and the edge", in_order + bytes([verified | 0, 250] * 12) +
        bytes([4, 0, 4, 1, 4, 2, verified | 1, 0, 7, verified | 1, 7, 208]))
    add("fuzz_replay_window", "near 2^64", bytes([verified | 5, 3, verified | 5, 1, 5, 3, verified | 0, 0, 1, 2]))
    add("fuzz_replay_window", "forged high counter", in_order + bytes([2]) + b"\x7f" + bytes(7) + bytes([1, 0, 1]))

    # fuzz_server_exchange: FuzzedDataProvider inputs (bytes from the front, one-byte integers
    # from the end; see the layout at the top of fuzz_server_exchange.cpp). The target seals the
    # requests itself; an exhausted input answers every later step the benign way (grant, found
    # nothing, the hash done, the password right, admitted), one byte per read.
    def exchange_seed(mode, op, room, username, password=None, allow_plaintext=1):
        front = room + username + (password or b"")
        ends = [mode, op - 1, len(room), len(username), 1 if password is not None else 0]
        if password is not None:
            ends.append(len(password))
        if op == 3:
            ends.append(0)
        ends += [0, allow_plaintext, 0]  # no trailing bytes; plaintext allowed or not; the door open
        return front + bytes(reversed(ends))

    plain, sealed = 1, 2
    add("fuzz_server_exchange", "plaintext create", exchange_seed(plain, 1, b"lobby", b"alice"))
    add("fuzz_server_exchange", "plaintext create refused", exchange_seed(plain, 1, b"lobby", b"alice", None, 0))
    add("fuzz_server_exchange", "sealed create with password", exchange_seed(sealed, 1, b"lobby", b"alice", b"pw"))
    add("fuzz_server_exchange", "sealed join", exchange_seed(sealed, 2, b"lobby", b"bob"))
    add("fuzz_server_exchange", "sealed join with password", exchange_seed(sealed, 2, b"den", b"bob", b"hunter2"))
    add("fuzz_server_exchange", "key request", exchange_seed(plain, 3, b"lobby", b"x"))

    for target in TARGETS:
        directory = os.path.join(CORPUS, target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in sorted(seeds[target].items()):
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds[target])} seeds")


if __name__ == "__main__":
    main()
