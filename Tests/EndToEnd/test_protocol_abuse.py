"""WebSocket and HTTP protocol abuse over raw sockets (RFC 6455, RFC 9112). Each violation gets the
right close code or HTTP status, and the gateway keeps serving normal clients afterwards."""
import json
import socket
import struct
import time

import pytest

from helpers import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, BufferedSock, RawWS, call, encode_frame,
                     handshake_request, http_raw, read_http_response_file, run, ws_connect)


def _normal_client_works(g):
    async def main():
        async with ws_connect(g.url()) as ws:
            assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
    run(main())


# (name, frames to send, expected close code)
FRAME_CASES = [
    ("unmasked frame", [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":1}', mask=False)], 1002),
    ("invalid UTF-8 text", [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"\xc3\x28"}')], 1007),
    ("invalid UTF-8 across fragments", [dict(opcode=OP_TEXT, payload=b'"\xe2\x82', fin=False),
                                        dict(opcode=OP_CONT, payload=b'\x28"')], 1007),
    ("reserved opcode 3", [dict(opcode=0x3, payload=b"x")], 1002),
    ("reserved control opcode 0xB", [dict(opcode=0xB, payload=b"")], 1002),
    ("RSV1 without extension", [dict(opcode=OP_TEXT, payload=b"{}", rsv=4)], 1002),
    ("fragmented ping", [dict(opcode=OP_PING, payload=b"p", fin=False)], 1002),
    ("ping payload over 125 bytes", [dict(opcode=OP_PING, payload=b"p" * 126)], 1002),
    ("continuation without a message", [dict(opcode=OP_CONT, payload=b"x")], 1002),
    ("new message inside a fragmented one", [dict(opcode=OP_TEXT, payload=b"a", fin=False),
                                             dict(opcode=OP_BINARY, payload=b"b")], 1002),
    ("close with 1-byte payload", [dict(opcode=OP_CLOSE, payload=b"\x03")], 1002),
    ("close with invalid code 1005", [dict(opcode=OP_CLOSE, payload=struct.pack("!H", 1005))], 1002),
    ("close with invalid code 999", [dict(opcode=OP_CLOSE, payload=struct.pack("!H", 999))], 1002),
    ("close with invalid UTF-8 reason", [dict(opcode=OP_CLOSE, payload=struct.pack("!H", 1000) + b"\xff")], 1007),
]


@pytest.mark.parametrize("name,frames,code", FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_frame_violation(gateway, name, frames, code):
    c = RawWS(gateway.port)
    try:
        for f in frames:
            c.send_frame(**f)
        got, reason, before = c.recv_until_close()
        assert got == code, f"{name}: expected close {code}, got {got} (frames before: {before})"
        assert before == [], f"{name}: unexpected frames {before}"
        # The gateway then closes TCP.
        assert c.wait_eof(timeout=5), "TCP not closed after the close frame"
    finally:
        c.close()
    _normal_client_works(gateway)


def test_close_handshake_echo(gateway):
    """A client close 1000 gets a close frame back, then TCP ends."""
    c = RawWS(gateway.port)
    try:
        c.close_frame(1000, b"done")
        got, _, before = c.recv_until_close()
        assert got == 1000
        assert c.wait_eof(5)
    finally:
        c.close()


def test_ping_gets_pong(gateway):
    c = RawWS(gateway.port)
    try:
        c.send_frame(OP_PING, b"hello-ping")
        fin, op, payload = c.recv_frame()
        assert (op, payload) == (0xA, b"hello-ping")
    finally:
        c.close()


def test_handshake_missing_key_is_400(gateway):
    status, headers, _ = http_raw(gateway.port, handshake_request("/ws", omit=("Sec-WebSocket-Key",)))
    assert status == 400
    assert "sec-websocket-accept" not in headers
    _normal_client_works(gateway)


def test_handshake_bad_key_is_400(gateway):
    status, _, _ = http_raw(gateway.port, handshake_request("/ws", key="dG9vIHNob3J0"))  # 9 bytes
    assert status == 400


def test_handshake_version_8_is_426(gateway):
    status, headers, _ = http_raw(gateway.port, handshake_request("/ws", version="8"))
    assert status == 426
    assert headers.get("sec-websocket-version") == "13"
    assert "sec-websocket-accept" not in headers
    _normal_client_works(gateway)


def test_handshake_post_is_not_upgraded(gateway):
    req = handshake_request("/ws").replace(b"GET ", b"POST ", 1)
    status, headers, _ = http_raw(gateway.port, req)
    assert status != 101 and "sec-websocket-accept" not in headers


def test_oversized_header_section_is_431(gateway_factory):
    g = gateway_factory(limits={"maxHeaderBytes": 4096})
    big = ("X-Big", "a" * 5000)
    status, _, _ = http_raw(g.port, handshake_request("/ws", extra=[big]))
    assert status == 431
    _normal_client_works(g)


def test_oversized_header_section_default_limit_is_431(gateway):
    # Default limit (16 KiB): many medium headers.
    extra = [(f"X-H{i}", "b" * 200) for i in range(95)]
    status, _, _ = http_raw(gateway.port, handshake_request("/ws", extra=extra))
    assert status == 431
    _normal_client_works(gateway)


def test_garbage_request_is_400(gateway):
    status, _, _ = http_raw(gateway.port, b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n")
    assert status == 400
    status, _, _ = http_raw(gateway.port, b"GET /ws HTTP/1.1\nHost: x\n\n")  # bare LF
    assert status == 400
    _normal_client_works(gateway)


def test_incomplete_request_times_out(gateway_factory):
    """A client that never finishes its request is dropped after handshakeTimeoutSeconds."""
    g = gateway_factory(limits={"handshakeTimeoutSeconds": 1})
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websock")
        t0 = time.monotonic()
        s.settimeout(5)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        elapsed = time.monotonic() - t0
    assert 0.5 <= elapsed <= 3.5, f"dropped after {elapsed:.2f}s"
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:100]
    _normal_client_works(g)


def test_many_abusive_clients_then_normal(gateway):
    """A burst of mixed abuse on parallel sockets does not take the gateway down."""
    socks = []
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
        kind = i % 3
        if kind == 0:
            s.sendall(b"\x00" * 100)
        elif kind == 1:
            s.sendall(handshake_request("/ws") + b"\x81\x7f" + b"\xff" * 8)  # 64-bit length with the top bit set
        else:
            s.sendall(b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    _normal_client_works(gateway)
    assert gateway.proc.poll() is None


def test_handshake_and_frame_split_into_single_bytes(gateway):
    """The HTTP and frame parsers are incremental: a handshake trickled one byte per write, then (after
    the 101) a frame trickled one byte per write."""
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        hs = handshake_request("/ws")
        for i in range(len(hs)):
            s.send(hs[i:i + 1])
        f = BufferedSock(s)
        status, _, _ = read_http_response_file(f)
        assert status == 101
        frame = encode_frame(OP_TEXT, b'{"cmd":"x","id":1,"data":"trickle"}')
        for i in range(len(frame)):
            s.send(frame[i:i + 1])
        b0, b1 = f.read(2)
        assert b0 == 0x81, hex(b0)
        assert f.read(b1 & 0x7F) == b'{"cmd":"x","id":1,"data":"trickle"}'
    finally:
        s.close()


def test_first_frame_in_same_write_as_handshake(gateway):
    """A client that sends its first message in the same TCP write as the handshake (no hook on the
    module). RFC 6455 says clients should wait for the 101, but the gateway buffers early frames on
    purpose (it does so when a hook is configured, see test_hooks); it must not silently drop them.
    (Regression test: the frame was lost until commit 66aaf49.)"""
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=1.5)
    try:
        s.sendall(handshake_request("/ws") + encode_frame(OP_TEXT, b'{"cmd":"x","id":1,"data":"early"}'))
        f = BufferedSock(s)
        status, _, _ = read_http_response_file(f)
        assert status == 101
        b0, b1 = f.read(2)
        assert b0 == 0x81, hex(b0)
        assert f.read(b1 & 0x7F) == b'{"cmd":"x","id":1,"data":"early"}'
    finally:
        s.close()


def test_many_frames_in_one_write(gateway):
    c = RawWS(gateway.port)
    try:
        c.send(b"".join(encode_frame(OP_TEXT, b'{"cmd":"x","id":%d,"data":%d}' % (i, i)) for i in range(50)))
        for i in range(50):
            fin, op, payload = c.recv_frame()
            assert (op, payload) == (OP_TEXT, b'{"cmd":"x","id":%d,"data":%d}' % (i, i))
    finally:
        c.close()


def test_ping_between_fragments(gateway):
    """Control frames may come between the fragments of a message (RFC 6455 §5.4)."""
    c = RawWS(gateway.port)
    try:
        c.send_frame(OP_TEXT, b'{"cmd":"x","id":1,', fin=False)
        c.send_frame(OP_PING, b"mid")
        c.send_frame(OP_CONT, b'"data":"frag"}', fin=True)
        fin, op, payload = c.recv_frame()
        assert (op, payload) == (0xA, b"mid")
        fin, op, payload = c.recv_frame()
        assert (op, payload) == (OP_TEXT, b'{"cmd":"x","id":1,"data":"frag"}')
    finally:
        c.close()


def test_protocol_error_reported_to_disconnect_hook(gateway_factory, backend):
    g = gateway_factory(modules=[backend.module(disconnect=backend.url("/disconnect"))])
    c = RawWS(g.port)
    try:
        c.send_frame(OP_TEXT, b'{"cmd":"headers","data":{}}')
        fin, op, payload = c.recv_frame()
        conn = json.loads(payload)["data"]["headers"]["gateway-connection-id"]
        c.send_frame(OP_TEXT, b"x", mask=False)
        code, _, _ = c.recv_until_close()
        assert code == 1002
    finally:
        c.close()
    assert backend.wait_disconnect(conn)["code"] == 1002


def test_http11_request_without_host_is_400(gateway):
    status, _, _ = http_raw(gateway.port, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status == 400


def test_absolute_form_request_target(gateway):
    status, _, _ = http_raw(gateway.port, b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                          b"Connection: close\r\n\r\n")
    assert status == 200
    status, headers, _ = http_raw(gateway.port, handshake_request(f"http://127.0.0.1:{gateway.port}/ws"))
    assert status == 101
