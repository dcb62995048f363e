#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/<Target>/ (run from anywhere; rewrites seed-* files only).

Each seed is a small valid or tricky input in the target's format (see Fuzz/README.md); libFuzzer
mutates from there. Minimized interesting inputs found by fuzzing sit beside them, named otherwise.
"""
import hashlib
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "Corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- HTTP/1.1
# [options][split] stream; options: bits 0-1 limits, 2-3 pauses, 4-5 chunking (see FuzzHTTP1.swift).
UPGRADE = ("GET /ws?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
           "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
           "Origin: https://example.com\r\n\r\n")
HTTP = {
    "get": "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "upgrade": UPGRADE,
    "post-length": "POST /chat HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"cmd\":\"hi\"}\n",
    "chunked": ("POST /chat HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"),
    "pipelined": ("GET /healthz HTTP/1.1\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                  "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                  "HEAD /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    "http10": "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "leading-crlf": "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "dup-length": "POST / HTTP/1.1\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
    "options-star": "OPTIONS * HTTP/1.1\r\n\r\n",
    "absolute": "GET http://example.com/a?b HTTP/1.1\r\n\r\n",
    "expect": "POST /m HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz",
    "other-method": "PROPFIND /dav HTTP/1.1\r\nDepth: 1\r\n\r\n",
    "obs-text": "GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\t v\r\n\r\n",
    "bad-bare-lf": "GET / HTTP/1.1\nHost: a\n\n",
    "bad-fold": "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n",
    "bad-cl-te": "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad-te": "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "bad-space-colon": "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "bad-version": "GET / HTTP/2.0\r\n\r\n",
    "bad-chunk-size": "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
    "bad-chunk-end": "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    "bad-http09": "GET /\r\n\r\n",
    "bad-cl": "POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
}
OPTION_SETS = [(0x00, 0x80), (0x04, 0x40), (0x0C, 0xC0), (0x10, 0x00), (0x21, 0x03), (0x1D, 0x10)]
for i, (name, text) in enumerate(sorted(HTTP.items())):
    opts, split = OPTION_SETS[i % len(OPTION_SETS)]
    write("FuzzHTTP1", "http-" + name, bytes([opts, split]) + text.encode("latin-1"))

# ---------------------------------------------------------------- WebSocket
# [limit][options][seed lo][seed hi] frames; see FuzzWebSocket.swift.
KEY = 0x37FA213D


def frame(opcode, payload=b"", fin=True, key=KEY, rsv=0, length_bytes=None):
    if isinstance(payload, str):
        payload = payload.encode()
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    enc = length_bytes if length_bytes is not None else (0 if n <= 125 else 2 if n <= 0xFFFF else 8)
    mask = 0x80 if key is not None else 0
    out = bytes([first])
    if enc == 0:
        out += bytes([mask | n])
    elif enc == 2:
        out += bytes([mask | 126]) + struct.pack(">H", n)
    else:
        out += bytes([mask | 127]) + struct.pack(">Q", n)
    if key is not None:
        k = struct.pack(">I", key)
        out += k
        payload = bytes(b ^ k[i % 4] for i, b in enumerate(payload))
    return out + payload


WS = {
    "text": frame(1, '{"cmd":"chat.send","id":"1","data":{"text":"hi"}}'),
    "binary": frame(2, bytes(range(40))),
    "fragments": frame(1, "hel", fin=False) + frame(9, "p") + frame(0, "lo ", fin=False) + frame(0, "w\xc3\xb6rld".encode("latin-1").decode("utf-8"), fin=True),
    "split-utf8": frame(1, b"\xe2\x82", fin=False) + frame(0, b"\xac!", fin=True),
    "control": frame(9, "ping") + frame(10, "pong") + frame(8, struct.pack(">H", 1000) + b"bye"),
    "close-empty": frame(8) + frame(1, "after close"),
    "len16": frame(2, b"x" * 300),
    "len64-short": frame(2, b"abc", length_bytes=8),
    "many-small": b"".join(frame(1, str(i)) for i in range(12)),
    "bad-utf8": frame(1, b"ok \xed\xa0\x80"),
    "bad-unmasked": frame(1, "x", key=None),
    "bad-rsv": frame(1, "x", rsv=0x40),
    "bad-opcode": frame(3, "x"),
    "bad-continuation": frame(0, "x"),
    "bad-close-code": frame(8, struct.pack(">H", 1005)),
    "bad-close-1": frame(8, b"\x03"),
    "bad-ping-long": frame(9, b"p" * 126),
    "bad-len-msb": bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + b"\x00\x00\x00\x00",
    "bad-new-message": frame(1, "a", fin=False) + frame(2, "b"),
}
WS_OPTIONS = [(0x05, 0x00, 1, 0), (0x06, 0x13, 7, 3), (0x02, 0x07, 0x21, 0x10), (0x88, 0x20, 3, 9), (0x04, 0x0A, 0, 1)]
for i, (name, data) in enumerate(sorted(WS.items())):
    limit, opts, s0, s1 = WS_OPTIONS[i % len(WS_OPTIONS)]
    write("FuzzWebSocket", "ws-" + name, bytes([limit, opts, s0, s1]) + data)

# ---------------------------------------------------------------- JSON (plain documents)
JSONS = {
    "envelope": '{"cmd":"chat.send","id":"42","data":{"text":"hi","to":[1,2]}}',
    "envelope-num-id": '{ "id" : -7.5e3 , "cmd" : "a\\/b" , "data" : [ { } , [ ] , "" ] , "x" : { "cmd" : 1 } }',
    "envelope-escaped-names": '{"\\u0063md":"x","d\\u0061ta":null,"i\\u0064":"\\ud83d\\ude00"}',
    "envelope-dup": '{"cmd":"a","cmd":"b"}',
    "envelope-no-cmd": '{"id":1,"data":true}',
    "envelope-empty-cmd": '{"cmd":"","data":{}}',
    "envelope-bad-id": '{"cmd":"a","id":[1]}',
    "text-format": "chat.send:{\"text\":\"hi\"}",
    "text-no-colon": "ping",
    "strings": '["", "\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u00e9\\u20AC\\uD834\\uDD1E", "\\uD800", "caf\u00e9 \u20ac \U0001F600"]',
    "numbers": "[0, -0, 1.5, -1.25e-10, 1E+300, 123456789012345678901234567890, 0.0e0]",
    "literals": '{"t":true,"f":false,"n":null}',
    "nested": "[" * 40 + "{\"a\":" + "1" + "}" + "]" * 40,
    "whitespace": " \t\r\n{ } \n",
    "bad-trailing": "{} x",
    "bad-leading-zero": "[01]",
    "bad-control": '"a\x01b"',
    "bad-escape": '"\\x"',
    "bad-utf8": b'"\xc0\xaf"',
    "bad-unterminated": '{"cmd":"a',
    "bad-depth": "[" * 300 + "]" * 300,
}
for name, text in sorted(JSONS.items()):
    write("FuzzJSON", "json-" + name, text if isinstance(text, bytes) else text.encode())

# ---------------------------------------------------------------- Config (gateway.json documents)
with open(os.path.join(HERE, "..", "gateway.json"), "rb") as f:
    write("FuzzConfig", "config-repo-gateway.json", f.read())
CONFIGS = {
    "minimal": {"listen": "127.0.0.1:8080", "modules": []},
    "full": {
        "listen": "0.0.0.0:${PORT:-8080}",
        "io": {"engine": "epoll", "loops": 2},
        "admin": {"listen": "[::1]:9090", "token": "${TOKEN}"},
        "limits": {"maxMessageBytes": 65536, "idleTimeoutSeconds": "${IDLE:-60}", "messagesPerSecond": 0,
                   "maxProxyBodyBytes": 1099511627776},
        "modules": [
            {"path": "/chat", "parser": "json", "handshake": "http://127.0.0.1:9000/hs",
             "disconnect": "https://backend.local/bye",
             "routes": {"chat.send": {"url": "http://127.0.0.1:9000/send", "deliver": "room:lobby"},
                        "user.*": "http://127.0.0.1:9000/user", "echo": {"local": "echo"}},
             "default": "http://127.0.0.1:9000/default", "origins": ["https://example.com"],
             "subprotocols": ["chat.v1"], "forwardHeaders": ["Authorization", "Cookie"], "hookTimeoutMs": 250},
            {"path": "/text", "parser": "text", "routes": {"*": "http://[::1]:9001/"}},
            {"path": "/raw", "parser": "raw", "command": "frame", "routes": {"frame": {"local": "echo"}}},
        ],
        "http": [{"prefix": "/api/", "url": "http://127.0.0.1:9002/v1", "timeoutMs": 1000}],
    },
    "env-missing": {"listen": "${NOPE}", "modules": [{"path": "/a", "routes": {"x": "${HOST}"}}]},
}
for name, obj in sorted(CONFIGS.items()):
    write("FuzzConfig", "config-" + name + ".json", json.dumps(obj, indent=1))
write("FuzzConfig", "config-bad-json.json", '{"listen": "127.0.0.1:1",\n "modules": [}\n')
write("FuzzConfig", "config-bad-keys.json",
      '{"listen":"1.2.3.4:99999","lisen":1,"modules":[{"path":"x","parser":"xml","routes":{"a*b":1}},{"path":"x"}],'
      '"limits":{"maxMessageBytes":0,"sendQueueBytes":"${EMPTY:-12}"},"admin":{"token":"short"}}')


# ---------------------------------------------------------------- permessage-deflate (inflate path)
# [options][limit] messages separated by FE FD; options: bit 0 context takeover, bits 1-3 window
# bits 9+n, bit 4 read through the frame reader too, bits 5-6 level (see FuzzInflate.swift).
def deflate(data, wbits=15, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


SEP = b"\xfe\xfd"
HELLO = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
INFLATE = {
    "hello": bytes([0x1C, 0x0C]) + HELLO,
    "stored-block": bytes([0x0C, 0x0C]) + bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + b"Hello" + b"\x00",
    "bfinal": bytes([0x0C, 0x0C]) + bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]),
    "json": bytes([0x3C, 0x2C]) + deflate(b'{"cmd":"chat.send","data":{"room":"lobby","text":"hello there"}}' * 8),
    "bomb": bytes([0x0C, 0x07]) + deflate(b"\x00" * 200_000, level=9),
    "window-9": bytes([0x10, 0x0C]) + deflate(b"abcdefgh" * 300, wbits=9),
    "takeover": bytes([0x1D, 0x3C]) + SEP.join([b"Hello", b"Hello", b"Hello world, hello again"]),
    "garbage": bytes([0x00, 0x0C]) + bytes([0xFF, 0xEE, 0xDD, 0xCC, 0x00, 0x01]),
    "invalid-utf8": bytes([0x1E, 0x1C]) + SEP.join([b"binary \xff", b"text \xc0\x80"]),
    "empty": bytes([0x10, 0x00]),
}
for name, data in sorted(INFLATE.items()):
    write("FuzzInflate", "inflate-" + name, data)
