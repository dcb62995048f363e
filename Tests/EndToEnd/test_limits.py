"""Limits (`limits.*`): message size (1009), send queue / slow consumers (1008), in-flight calls per
connection, request body size, message rate, connections per IP, large messages within the limits."""
import asyncio
import base64
import json
import socket
import struct
import time

import pytest

from helpers import (OP_CLOSE, OP_CONT, OP_TEXT, BufferedSock, RawWS, call, encode_frame,
                     expect_closed, handshake_request, http_raw, read_http_response_file, recv_json, run, wait_until,
                     ws_connect)

LIMIT = 1024


def _envelope_of_size(n, cmd="x"):
    """A json envelope of exactly n bytes."""
    head = '{"cmd":"%s","data":"' % cmd
    tail = '"}'
    return head + "a" * (n - len(head) - len(tail)) + tail


def test_oversize_message_closes_1009(gateway_factory):
    g = gateway_factory(limits={"maxMessageBytes": LIMIT})

    async def main():
        async with ws_connect(g.url()) as bystander:
            assert await call(bystander, {"cmd": "x", "id": 0, "data": 0}) == {"cmd": "x", "id": 0, "data": 0}
            async with ws_connect(g.url()) as ws:
                # Exactly at the limit: fine.
                at_limit = _envelope_of_size(LIMIT)
                assert len(at_limit.encode()) == LIMIT
                await ws.send(at_limit)
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply["data"] == "a" * (LIMIT - len('{"cmd":"x","data":""}'))
                # One byte more: closed with 1009.
                await ws.send(_envelope_of_size(LIMIT + 1))
                code = await expect_closed(ws)
                assert code == 1009, f"close code {code}"
            # The other client is unaffected.
            for i in range(3):
                assert await call(bystander, {"cmd": "x", "id": i, "data": i}) == {"cmd": "x", "id": i, "data": i}
    run(main())


def test_oversize_fragmented_message_closes_1009(gateway_factory):
    """The limit counts all fragments together."""
    g = gateway_factory(limits={"maxMessageBytes": LIMIT})
    ws = RawWS(g.port)
    try:
        ws.send_frame(OP_TEXT, b'{"cmd":"x","data":"' + b"a" * 500, fin=False)
        ws.send_frame(OP_CONT, b"a" * 500, fin=False)
        ws.send_frame(OP_CONT, b"a" * 500 + b'"}', fin=True)
        code, _, frames = ws.recv_until_close()
        assert code == 1009, f"close code {code}, frames before: {frames}"
        assert frames == [], "no reply expected for the oversize message"
    finally:
        ws.close()

    # A fragmented message under the limit is reassembled and answered.
    ws = RawWS(g.port)
    try:
        ws.send_frame(OP_TEXT, b'{"cmd":"x","id":1,', fin=False)
        ws.send_frame(OP_CONT, b'"data":{"k":', fin=False)
        ws.send_frame(OP_CONT, b'"v"}}', fin=True)
        fin, op, payload = ws.recv_frame()
        assert op == OP_TEXT and json.loads(payload) == {"cmd": "x", "id": 1, "data": {"k": "v"}}
    finally:
        ws.close()


def test_oversize_binary_raw_module(gateway_factory, backend):
    g = gateway_factory(limits={"maxMessageBytes": LIMIT},
                        modules=[{"path": "/raw", "parser": "raw", "routes": {"message": backend.url("/echo")}}])

    async def main():
        async with ws_connect(g.url("/raw")) as ws:
            await ws.send(b"\x01" * LIMIT)
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x01" * LIMIT
            await ws.send(b"\x01" * (LIMIT * 4))
            assert await expect_closed(ws) == 1009
    run(main())
    assert len(backend.records(path="/echo")) == 1, "the oversize message must not reach the backend"


def test_disconnect_hook_reports_1009(gateway_factory, backend):
    g = gateway_factory(limits={"maxMessageBytes": LIMIT},
                        modules=[backend.module(disconnect=backend.url("/disconnect"))])

    async def main():
        async with ws_connect(g.url()) as ws:
            conn = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
            await ws.send(_envelope_of_size(LIMIT * 2))
            assert await expect_closed(ws) == 1009
            return conn
    conn = run(main())
    assert backend.wait_disconnect(conn)["code"] == 1009


def test_max_inflight_per_connection(gateway_factory, backend):
    """With maxInflightPerConnection 2, a client pipelining 6 slow calls never has more than 2 at the
    backend at once, and every reply still comes, in order."""
    g = gateway_factory(limits={"maxInflightPerConnection": 2})

    async def main():
        async with ws_connect(g.url()) as ws:
            for i in range(6):
                await ws.send(json.dumps({"cmd": "slow200", "id": i, "data": {"i": i}}))
            for i in range(6):
                assert await recv_json(ws, 10) == {"cmd": "slow200", "id": i, "data": {"ok": True}}
    run(main())
    recs = backend.records(path="/slow/200")
    assert len(recs) == 6
    starts = sorted(r["t"] for r in recs)
    # Calls 3..6 start only after earlier ones finished (each takes 200 ms).
    for k in range(2, 6):
        assert starts[k] - starts[k - 2] >= 0.18, f"more than 2 calls in flight: starts {starts}"


def test_post_body_too_large_is_413(gateway_factory):
    g = gateway_factory(limits={"maxRequestBodyBytes": 1000})
    body = '{"cmd":"x","data":"' + "a" * 2000 + '"}'
    status, _, _ = g.http("POST", "/ws", body=body)
    assert status == 413
    status, _, resp = g.http("POST", "/ws", body='{"cmd":"x","id":1,"data":1}')
    assert status == 200 and json.loads(resp) == {"cmd": "x", "id": 1, "data": 1}


def test_large_client_message_forwarded_exactly(gateway, backend):
    """A 600 kB message (under the 1 MiB default) reaches the backend byte for byte."""
    data = json.dumps({"blob": "\u00e9x" * 200000, "n": list(range(100))}, separators=(", ", " : "),
                      ensure_ascii=False)
    assert 500_000 < len(data.encode()) < 1_000_000

    async def main():
        async with ws_connect(gateway.url()) as ws:
            await ws.send('{"cmd":"x","id":1,"data":' + data + "}")
            raw = await asyncio.wait_for(ws.recv(), 10)
            assert data in raw
    run(main())
    assert base64.b64decode(backend.records(path="/echo")[0]["body_b64"]) == data.encode()


def _slow_consumer(port, n=4):
    """A WebSocket client with a tiny receive window that asks for n 6 MB replies and reads nothing.
    (6 MB: more than the kernel's socket buffers take, so most of a reply waits in the gateway.)"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    s.connect(("127.0.0.1", port))
    s.sendall(handshake_request("/ws"))
    f = BufferedSock(s)
    assert read_http_response_file(f)[0] == 101
    for i in range(n):
        s.sendall(encode_frame(OP_TEXT, json.dumps({"cmd": "big", "id": i, "data": {}}).encode()))
    return s, f


def _big_module(backend):
    return backend.module(routes={"big": backend.url("/big/6000000"), "x": backend.url("/echo")})


def test_slow_consumer_is_disconnected(gateway_factory, backend):
    """A client that stops reading while 24 MB of replies pile up is disconnected (the gateway does not
    buffer without bound) within the close timeout, and other clients are served meanwhile."""
    g = gateway_factory(limits={"sendQueueBytes": 65536, "closeTimeoutSeconds": 2}, modules=[_big_module(backend)])
    s, _ = _slow_consumer(g.port)
    try:
        # Without reading a byte: the gateway gives up on us and releases the socket.
        wait_until(lambda: g.fd_breakdown(backend.port)["client"] == 0, timeout=5,
                   what="the slow consumer to be disconnected")

        async def other():
            async with ws_connect(g.url()) as ws:
                assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
        run(other())
    finally:
        s.close()


def test_slow_consumer_gets_close_1008(gateway_factory, backend):
    """The slow consumer, once it reads again (within closeTimeoutSeconds), finds the replies that were
    queued and then the close frame 1008 (DESIGN section 7) - not a connection cut mid-frame."""
    g = gateway_factory(limits={"sendQueueBytes": 65536, "closeTimeoutSeconds": 5}, modules=[_big_module(backend)])
    s, f = _slow_consumer(g.port)
    try:
        time.sleep(0.6)  # a client that is slow, not dead
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(5)
        replies, code = 0, None
        try:
            while True:
                b0, b1 = f.read(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", f.read(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", f.read(8))[0]
                payload = f.read(n)
                if b0 & 0x0F == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0]
                    break
                replies += 1
        except (EOFError, ConnectionResetError, socket.timeout):
            pass
        assert code == 1008, f"no close frame 1008 (got {code}) after {replies} complete replies"
        assert replies < 4
    finally:
        s.close()


def test_rate_limit(gateway_factory):
    g = gateway_factory(limits={"messagesPerSecond": 5, "messageBurst": 5})

    async def main():
        async with ws_connect(g.url()) as ws:
            for i in range(20):
                await ws.send(json.dumps({"cmd": "local", "id": i, "data": i}))
            replies = [await recv_json(ws) for _ in range(20)]
            assert [r["id"] for r in replies] == list(range(20)), "every message is answered, in order"
            ok = [r for r in replies if "error" not in r]
            limited = [r for r in replies if r.get("error", {}).get("code") == "rate_limited"]
            assert len(ok) + len(limited) == 20
            assert 5 <= len(ok) <= 8, f"{len(ok)} messages passed a burst of 5"
            assert replies[:5] == [{"cmd": "local", "id": i, "data": i} for i in range(5)]
            # Tokens come back with time: the connection is usable again.
            await asyncio.sleep(0.5)
            reply = await call(ws, {"cmd": "local", "id": "later", "data": 1})
            assert reply == {"cmd": "local", "id": "later", "data": 1}
    run(main())


def test_max_connections_per_ip(gateway_factory):
    g = gateway_factory(limits={"maxConnectionsPerIP": 3})

    async def main():
        clients = [await ws_connect(g.url()) for _ in range(3)]
        try:
            loop = asyncio.get_running_loop()
            status, _, _ = await loop.run_in_executor(None, lambda: http_raw(g.port, handshake_request("/ws")))
            assert status == 503
            await clients[0].close()
            # The slot is freed once the gateway has seen the close.
            deadline = loop.time() + 3
            while True:
                status, _, _ = await loop.run_in_executor(None, lambda: http_raw(g.port, handshake_request("/ws")))
                if status == 101 or loop.time() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert status == 101
            for ws in clients[1:]:
                assert await call(ws, {"cmd": "local", "id": 1, "data": 1}) == {"cmd": "local", "id": 1, "data": 1}
        finally:
            for ws in clients:
                await ws.close()
    run(main())


def test_memory_is_handed_back_after_a_drop_in_connections(gateway_factory):
    """After 1,100 WebSockets close (a drop to a quarter of a peak of at least 1,024) the gateway
    hands freed memory back to the kernel once, and says so in /metrics."""
    g = gateway_factory(modules=[{"path": "/ws", "parser": "raw", "default": {"local": "echo"}}], admin=True)

    def trims():
        return int(g.metric("gateway_memory_trims_total"))

    assert trims() == 0
    socks = []
    try:
        for _ in range(1100):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            s.sendall(handshake_request("/ws"))
            socks.append(s)
        for s in socks:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                assert chunk, "connection closed during the handshake"
                head += chunk
            assert head.startswith(b"HTTP/1.1 101"), head[:40]
        assert trims() == 0, "trimmed while the connections were open"
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: trims() == 1, timeout=10, what="one memory trim after the drop")
    # Once: the trim comes at the close that reaches a quarter of the peak, with ~275 closes still to
    # come, each of which would trim again if the drop were not reset. gateway_connections reaches 0
    # only after every close has gone through the admission count, so by then a second trim has
    # happened or never will.
    wait_until(lambda: g.metric("gateway_connections") == 0, timeout=10, what="every connection to be closed")
    assert trims() == 1
