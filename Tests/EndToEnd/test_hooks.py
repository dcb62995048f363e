"""Handshake and disconnect hooks (DESIGN §1, §4)."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import websockets

from conftest import HERE, Backend
from helpers import (OP_TEXT, BufferedSock, call, encode_frame, handshake_request, http_raw, read_http_response_file,
                     recv_json, run, wait_until, ws_connect)


def _hook_module(backend, handshake="/hook/accept", disconnect="/disconnect", **kw):
    m = backend.module(handshake=backend.url(handshake) if handshake else None, **kw)
    if disconnect:
        m["disconnect"] = backend.url(disconnect)
    if m["handshake"] is None:
        del m["handshake"]
    return m


def _sentinel_connection(g, path):
    """Opens a WebSocket on `path`, learns its connection id (skipping a hook's first message), closes
    it with 1000 and returns the id once the close handshake and TCP close are done. Its disconnect
    hook is a sentinel: on a gateway with one loop it is queued after anything the gateway did for
    connections that had closed before."""
    async def main():
        async with ws_connect(g.url(path)) as ws:
            await ws.send('{"cmd":"headers","id":"sentinel","data":{}}')
            while True:
                r = await recv_json(ws)
                if r.get("id") == "sentinel":
                    return r["data"]["headers"]["gateway-connection-id"]
    return run(main())


def test_handshake_hook_accept(gateway_factory, backend):
    g = gateway_factory(modules=[_hook_module(backend, subprotocols=["chat.v2", "chat.v1"])])

    async def main():
        headers = [("X-Test", "hello"), ("Gateway-User", "forged")]
        async with ws_connect(g.url("/ws?user=alice&room=1"), extra_headers=headers,
                              subprotocols=["chat.v1", "other"]) as ws:
            assert ws.subprotocol == "chat.v1"
            # The hook's JSON body is the first message.
            first = await asyncio.wait_for(ws.recv(), 5)
            assert json.loads(first) == {"welcome": True}
            reply = await call(ws, {"cmd": "headers", "id": 1, "data": {}})
            return reply["data"]

    h = run(main())
    lst = h["list"]
    users = [v for k, v in lst if k.lower() == "gateway-user"]
    rooms = [v for k, v in lst if k.lower() == "gateway-rooms"]
    assert users == ["u-alice"], lst
    assert rooms == ["lobby,news"], lst
    conn = [v for k, v in lst if k.lower() == "gateway-connection-id"]
    assert len(conn) == 1

    hooks = backend.records(path="/hook/accept")
    assert len(hooks) == 1
    assert hooks[0]["method"] == "POST"
    body = json.loads(hooks[0]["body"])
    assert body["connectionId"] == conn[0], "the hook's connectionId differs from Gateway-Connection-Id"
    assert body["path"] == "/ws"
    q = body["query"].lstrip("?")
    assert sorted(q.split("&")) == ["room=1", "user=alice"], body["query"]
    hdrs = {k.lower(): v for k, v in body["headers"].items()}
    assert hdrs.get("x-test") == "hello"
    assert "gateway-user" not in hdrs, "a client-sent Gateway-* header reached the hook"
    assert body["remoteAddress"].startswith("127.0.0.1") or body["remoteAddress"] in ("::ffff:127.0.0.1",)
    assert body["subprotocols"] == ["chat.v1", "other"]


def test_handshake_hook_reject(gateway_factory, backend):
    # /sentinel: no handshake hook, the same disconnect hook; one loop, so events are handled in order.
    sentinel = backend.module(path="/sentinel", disconnect=backend.url("/disconnect"))
    g = gateway_factory(modules=[_hook_module(backend, handshake="/hook/reject"), sentinel],
                        io={"loops": 1}, admin=True)
    status, headers, _ = http_raw(g.port, handshake_request("/ws"))
    assert status == 403
    assert "sec-websocket-accept" not in headers

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            async with ws_connect(g.url()):
                pass
        assert e.value.status_code == 403
    run(main())
    assert len(backend.records(path="/hook/reject")) == 2
    # A rejected handshake never became a connection: no disconnect hook. A connection opened after
    # both rejected ones were closed is the sentinel: once its hook is delivered and none is pending,
    # a hook queued for a rejected handshake would have been counted and seen by the backend.
    sid = _sentinel_connection(g, "/sentinel")
    backend.wait_disconnect(sid)
    hooks = g.wait_hooks_idle(delivered=1)
    assert [d["connectionId"] for d in backend.disconnects()] == [sid]
    assert hooks["delivered"] == 1 and hooks["failedAttempts"] == 0, hooks


@pytest.mark.parametrize("status", [401, 500])
def test_handshake_hook_other_status_passed_through(gateway_factory, backend, status):
    g = gateway_factory(modules=[_hook_module(backend, handshake=f"/status/{status}")])
    got, headers, _ = http_raw(g.port, handshake_request("/ws"))
    assert got == status
    assert "sec-websocket-accept" not in headers


def test_handshake_hook_unreachable_is_503(gateway_factory, backend):
    m = backend.module()
    m["handshake"] = backend.dead_url("/hook")
    g = gateway_factory(modules=[m])
    status, headers, _ = http_raw(g.port, handshake_request("/ws"))
    assert status == 503
    assert "sec-websocket-accept" not in headers


def test_handshake_hook_no_body_no_first_message(gateway_factory, backend):
    """A 204 hook accepts without a first message: the first frame is the reply to our message."""
    g = gateway_factory(modules=[_hook_module(backend, handshake="/no-content")])

    async def main():
        async with ws_connect(g.url()) as ws:
            assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
    run(main())


def test_frames_sent_before_hook_answers_are_processed(gateway_factory, backend):
    """The hook is slow; the client pipelines a frame right behind the handshake request, in the same
    write. It is handled after the upgrade, behind the hook's first message."""
    g = gateway_factory(modules=[_hook_module(backend, handshake="/slow/200")])
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(handshake_request("/ws") + encode_frame(OP_TEXT, b'{"cmd":"x","id":1,"data":1}'))
        f = BufferedSock(s)
        status, _, _ = read_http_response_file(f)
        assert status == 101
        frames = []
        for _ in range(2):
            b0, b1 = f.read(2)
            n = b1 & 0x7F
            assert n < 126
            frames.append((b0 & 0x0F, f.read(n)))
    assert frames[0] == (OP_TEXT, b'{"ok":true}')  # /slow's body: the hook's first message
    assert frames[1][0] == OP_TEXT and json.loads(frames[1][1]) == {"cmd": "x", "id": 1, "data": 1}


def test_disconnect_hook_on_normal_close(gateway_factory, backend):
    g = gateway_factory(modules=[_hook_module(backend)], io={"loops": 1}, admin=True)

    async def main():
        ws = await ws_connect(g.url("/ws?user=bob"))
        t0 = time.monotonic()
        assert json.loads(await ws.recv()) == {"welcome": True}
        h = await call(ws, {"cmd": "headers", "data": {}})
        # Hold the connection open for a known minimum time.
        assert (await call(ws, {"cmd": "slow200", "data": {}}))["data"] == {"ok": True}
        await ws.close(code=1000, reason="bye now")
        held = time.monotonic() - t0
        return h["data"]["headers"]["gateway-connection-id"], held

    conn, held = run(main())
    d = backend.wait_disconnect(conn)
    assert d["connectionId"] == conn
    assert d["user"] == "u-bob"
    assert d["rooms"] == ["lobby", "news"]
    assert d["code"] == 1000
    assert d["reason"] == "bye now"
    assert isinstance(d["durationMs"], int)
    assert 200 <= d["durationMs"] <= held * 1000 + 1000, (d["durationMs"], held)
    # Exactly once. The sentinel connection opens after the first one's TCP connection closed, on the
    # same loop: once its hook is delivered and none is pending, a second hook for the first
    # connection would have been queued before it, and so delivered (or still pending).
    sid = _sentinel_connection(g, "/ws")
    backend.wait_disconnect(sid)
    hooks = g.wait_hooks_idle(delivered=2)
    assert [x["connectionId"] for x in backend.disconnects()].count(conn) == 1
    assert hooks["delivered"] == 2 and hooks["failedAttempts"] == 0, hooks


def test_disconnect_hook_with_other_close_code(gateway_factory, backend):
    g = gateway_factory(modules=[_hook_module(backend, handshake=None)])

    async def main():
        ws = await ws_connect(g.url())
        h = await call(ws, {"cmd": "headers", "data": {}})
        await ws.close(code=4001, reason="custom")
        return h["data"]["headers"]["gateway-connection-id"]

    conn = run(main())
    d = backend.wait_disconnect(conn)
    assert (d["code"], d["reason"]) == (4001, "custom")
    assert d["user"] is None and d["rooms"] == []


def test_disconnect_hook_retried(gateway_factory, backend):
    """A disconnect hook that fails is retried with backoff until the backend takes it."""
    g = gateway_factory(modules=[_hook_module(backend, handshake=None, disconnect="/disconnect-flaky/3")])

    async def main():
        ws = await ws_connect(g.url())
        h = await call(ws, {"cmd": "headers", "data": {}})
        await ws.close(code=1000, reason="r")
        return h["data"]["headers"]["gateway-connection-id"]

    conn = run(main())
    d = backend.wait_disconnect(conn, timeout=10)
    assert d["code"] == 1000
    attempts = [r for r in backend.records(path="/disconnect-flaky/3") if json.loads(r["body"])["connectionId"] == conn]
    assert len(attempts) == 4
    # Backoff: attempts are not fired back to back.
    gaps = [b["t"] - a["t"] for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= 0.05 for gap in gaps), gaps


def test_client_close_with_calls_in_flight(gateway_factory, backend):
    """A client closes (1000) while its calls are still at the backend: the close handshake completes
    at once, the late replies go nowhere, the disconnect hook reports 1000, the gateway keeps serving."""
    g = gateway_factory(modules=[_hook_module(backend, handshake=None)])

    async def main():
        ws = await ws_connect(g.url())
        conn = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
        for i in range(3):
            await ws.send('{"cmd":"slow500","id":%d,"data":{}}' % i)
        await asyncio.get_running_loop().run_in_executor(None, lambda: backend.wait_records(3, path="/slow/500"))
        t0 = time.monotonic()
        await ws.close(code=1000, reason="leaving")
        assert ws.close_code == 1000
        assert time.monotonic() - t0 < 0.4, "the close handshake waited for the backend calls"
        return conn

    conn = run(main())
    d = backend.wait_disconnect(conn)
    assert (d["code"], d["reason"]) == (1000, "leaving")
    # The orphaned calls complete; the gateway is fine afterwards.
    wait_until(lambda: all(r["done"] for r in backend.records(path="/slow/500")), timeout=3,
               what="the orphaned backend calls to complete")

    async def again():
        async with ws_connect(g.url()) as ws:
            assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
    run(again())


def test_handshake_hook_timeout(gateway_factory, backend):
    """hookTimeoutMs bounds the hook call; a hook that does not answer in time refuses the upgrade
    with a 5xx instead of holding the client."""
    m = _hook_module(backend, handshake="/slow/2000", disconnect=None, hookTimeoutMs=200)
    g = gateway_factory(modules=[m])
    t0 = time.monotonic()
    status, headers, _ = http_raw(g.port, handshake_request("/ws"))
    elapsed = time.monotonic() - t0
    assert status in (503, 504), status
    assert "sec-websocket-accept" not in headers
    assert elapsed < 1.5, f"hook timeout not applied: answered after {elapsed:.2f}s"


def test_origin_allowlist(gateway_factory, backend):
    g = gateway_factory(modules=[backend.module(origins=["https://good.example"])])
    status, _, _ = http_raw(g.port, handshake_request("/ws", extra=[("Origin", "https://evil.example")]))
    assert status == 403
    status, _, _ = http_raw(g.port, handshake_request("/ws", extra=[("Origin", "https://good.example")]))
    assert status == 101


def test_disconnect_hook_delivered_after_its_backend_was_down(gateway_factory, backend):
    """The hook's backend refuses connections after the client leaves until at least three attempts
    have failed, then comes up: the hook arrives once, with the close code, reason and duration."""

    # Bound but not listening: connections are refused, and nobody else can take the port meanwhile.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    module = _hook_module(backend, handshake=None, disconnect=None)
    module["disconnect"] = f"http://127.0.0.1:{port}/disconnect"
    g = gateway_factory(modules=[module], admin=True)

    async def main():
        ws = await ws_connect(g.url())
        h = await call(ws, {"cmd": "headers", "data": {}})
        await asyncio.sleep(0.3)
        await ws.close(code=4001, reason="going")
        return h["data"]["headers"]["gateway-connection-id"]

    conn = run(main())
    # Backoff 0.1 s, 0.2 s, 0.4 s ...: the third attempt fails about 0.3 s after the close.
    hooks = wait_until(lambda: (lambda h: h if h["failedAttempts"] >= 3 else None)(g.stats()["hooks"]),
                       timeout=10, what="three failed attempts of the disconnect hook")
    assert hooks["pending"] == 1 and hooks["delivered"] == 0 and hooks["dropped"] == 0, hooks

    holder.close()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "backend.py"), str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("PORT ")
        late = Backend(proc, port)
        d = late.wait_disconnect(conn, timeout=15)
        assert d["code"] == 4001 and d["reason"] == "going", d
        assert d["durationMs"] >= 300, d
        # Exactly once: with no hook pending the gateway makes no further attempt, so the count is final.
        hooks = g.wait_hooks_idle(delivered=1)
        assert [x["connectionId"] for x in late.disconnects()].count(conn) == 1
        assert hooks["delivered"] == 1 and hooks["dropped"] == 0, hooks
    finally:
        proc.terminate()
        proc.wait(5)
