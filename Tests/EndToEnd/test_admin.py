"""The admin and push API (DESIGN §5) on its own listener with a bearer token."""
import asyncio
import json
import re
import socket

import pytest

from helpers import (ADMIN_TOKEN, BufferedSock, call, expect_closed, handshake_request, read_http_response_file,
                     recv_json, run, wait_until, ws_connect)


def _modules(backend):
    routes = {"x": backend.url("/echo"), "headers": backend.url("/headers"), "slow1000": backend.url("/slow/1000")}
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept"),
         "disconnect": backend.url("/disconnect")},
    ]


async def _conn_id(ws):
    return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]


async def _nothing_pending(ws, tag):
    reply = await call(ws, {"cmd": "x", "id": f"sentinel-{tag}", "data": tag})
    assert reply == {"cmd": "x", "id": f"sentinel-{tag}", "data": tag}, f"unexpected frame: {reply}"


async def _admin(g, method, path, body=None):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: g.admin(method, path, body))


@pytest.fixture
def gw(gateway_factory, backend):
    return gateway_factory(modules=_modules(backend), admin=True)


def test_admin_health_and_auth(gw):
    for path in ("/healthz", "/readyz"):
        status, _, _ = gw.admin("GET", path, token=None)
        assert status == 200, path
    for token in (None, "wrong-token-wrong-token"):
        for method, path in (("GET", "/v1/stats"), ("GET", "/v1/connections"), ("GET", "/metrics"),
                             ("POST", "/v1/publish")):
            status, _, _ = gw.admin(method, path, body="{}" if method == "POST" else None, token=token)
            assert status == 401, (token, method, path, status)
    # The admin API is not reachable on the public port.
    status, _, _ = gw.http("GET", "/v1/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 404


def test_publish_targets(gw):
    async def main():
        async with ws_connect(gw.url("/hooked?user=ann")) as ann, ws_connect(gw.url("/hooked?user=ben")) as ben, \
                ws_connect(gw.url()) as plain:
            for ws in (ann, ben):
                assert await recv_json(ws) == {"welcome": True}
            ida, idb, idp = await _conn_id(ann), await _conn_id(ben), await _conn_id(plain)

            st, _, body = await _admin(gw, "POST", "/v1/publish",
                                       {"to": {"all": True}, "cmd": "news", "data": {"n": 1}})
            assert st == 200 and json.loads(body) == {"delivered": 3}
            for ws in (ann, ben, plain):
                assert await recv_json(ws) == {"cmd": "news", "data": {"n": 1}}

            st, _, body = await _admin(gw, "POST", "/v1/publish",
                                       {"to": {"room": "lobby"}, "cmd": "lobby", "data": "hi"})
            assert json.loads(body) == {"delivered": 2}
            for ws in (ann, ben):
                assert await recv_json(ws) == {"cmd": "lobby", "data": "hi"}
            await _nothing_pending(plain, "plain")

            st, _, body = await _admin(gw, "POST", "/v1/publish", {"to": {"user": "u-ben"}, "cmd": "dm", "data": [1]})
            assert json.loads(body) == {"delivered": 1}
            assert await recv_json(ben) == {"cmd": "dm", "data": [1]}
            await _nothing_pending(ann, "ann")

            st, _, body = await _admin(gw, "POST", "/v1/publish",
                                       {"to": {"connections": [ida, idp]}, "cmd": "c", "data": None})
            assert json.loads(body) == {"delivered": 2}
            for ws in (ann, plain):
                assert await recv_json(ws) == {"cmd": "c", "data": None}
            await _nothing_pending(ben, "ben")

            st, _, body = await _admin(gw, "POST", "/v1/publish",
                                       {"to": {"all": True}, "except": [idb], "cmd": "ex", "data": {}})
            assert json.loads(body) == {"delivered": 2}
            for ws in (ann, plain):
                assert await recv_json(ws) == {"cmd": "ex", "data": {}}
            await _nothing_pending(ben, "ben2")

            st, _, body = await _admin(gw, "POST", "/v1/publish", {"to": {"room": "nobody-here"}, "cmd": "z"})
            assert st == 200 and json.loads(body) == {"delivered": 0}
    run(main())


@pytest.mark.parametrize("body", [
    "not json", "[]", {"cmd": "x"}, {"to": {"all": True}}, {"to": {"all": True}, "cmd": ""},
    {"to": {"all": True, "room": "r"}, "cmd": "x"}, {"to": {"planet": "mars"}, "cmd": "x"},
    {"to": {"connections": []}, "cmd": "x"}, {"to": {"all": True}, "cmd": "x", "bogus": 1},
])
def test_publish_bad_requests(gw, body):
    status, _, resp = gw.admin("POST", "/v1/publish", body)
    assert status == 400, (body, status, resp)


def test_connections_listing_and_close(gw, backend):
    async def main():
        async with ws_connect(gw.url("/hooked?user=cat")) as cat, ws_connect(gw.url()) as plain:
            assert await recv_json(cat) == {"welcome": True}
            idc, idp = await _conn_id(cat), await _conn_id(plain)

            st, _, body = await _admin(gw, "GET", "/v1/connections")
            listing = json.loads(body)
            assert st == 200 and listing["count"] == 2
            assert sorted(c["id"] for c in listing["connections"]) == sorted([idc, idp])

            st, _, body = await _admin(gw, "GET", "/v1/connections?room=lobby")
            assert [c["id"] for c in json.loads(body)["connections"]] == [idc]
            st, _, body = await _admin(gw, "GET", "/v1/connections?user=u-cat")
            assert [c["id"] for c in json.loads(body)["connections"]] == [idc]

            st, _, body = await _admin(gw, "GET", f"/v1/connections/{idc}")
            info = json.loads(body)
            assert st == 200 and info["id"] == idc and info["user"] == "u-cat"
            assert sorted(info["rooms"]) == ["lobby", "news"]
            assert info["path"] == "/hooked"

            st, _, _ = await _admin(gw, "GET", "/v1/connections/00ffffffffffffffffffffffff")
            assert st == 404

            st, _, body = await _admin(gw, "POST", f"/v1/connections/{idc}/close",
                                       {"code": 4001, "reason": "admin says bye"})
            assert st == 200
            assert await expect_closed(cat) == 4001
            assert cat.close_reason == "admin says bye"
            await _nothing_pending(plain, "plain")
            return idc

    idc = run(main())
    d = backend.wait_disconnect(idc)
    assert (d["code"], d["reason"]) == (4001, "admin says bye")


def test_rooms_change(gw):
    async def main():
        async with ws_connect(gw.url()) as a:
            ida = await _conn_id(a)
            st, _, body = await _admin(gw, "POST", f"/v1/connections/{ida}/rooms", {"join": ["vip", "red"]})
            assert st == 200 and sorted(json.loads(body)["rooms"]) == ["red", "vip"]
            st, _, body = await _admin(gw, "POST", "/v1/publish", {"to": {"room": "vip"}, "cmd": "vip", "data": 1})
            assert json.loads(body) == {"delivered": 1}
            assert await recv_json(a) == {"cmd": "vip", "data": 1}
            # The backend now sees the rooms too.
            h = (await call(a, {"cmd": "headers", "data": {}}))["data"]["headers"]
            assert sorted(h["gateway-rooms"].split(",")) == ["red", "vip"]
            st, _, body = await _admin(gw, "POST", f"/v1/connections/{ida}/rooms", {"leave": ["vip"]})
            assert json.loads(body)["rooms"] == ["red"]
            st, _, body = await _admin(gw, "POST", "/v1/publish", {"to": {"room": "vip"}, "cmd": "vip", "data": 2})
            assert json.loads(body) == {"delivered": 0}
            await _nothing_pending(a, "a")
    run(main())


def test_stats_and_metrics(gw):
    async def main():
        async with ws_connect(gw.url()) as a:
            for i in range(3):
                await call(a, {"cmd": "x", "id": i, "data": i})
            stats = json.loads((await _admin(gw, "GET", "/v1/stats"))[2])
            status, headers, metrics = await _admin(gw, "GET", "/metrics")
            return stats, status, headers, metrics.decode()

    stats, status, headers, metrics = run(main())
    assert stats["engine"] == gw.engine
    assert stats["connections"]["websockets"] == 1
    assert stats["messages"]["received"] >= 3
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain")
    # Prometheus text format: comments or `name{labels} value` samples.
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?([0-9.eE+-]+|NaN|\+Inf|-Inf)( \d+)?$')
    lines = [line for line in metrics.splitlines() if line]
    assert lines
    for line in lines:
        assert line.startswith("#") or sample.match(line), f"not Prometheus text format: {line!r}"
    assert any(line.startswith("# TYPE") for line in lines)


def test_fanout_with_a_slow_consumer(gateway_factory, backend):
    """Pushes of 200 kB to every connection while one client reads nothing: that client is closed
    (its queue is bounded by sendQueueBytes), every other client receives every push."""
    g = gateway_factory(modules=_modules(backend), admin=True, limits={"sendQueueBytes": 1 << 20})
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", g.port))
    stuck.sendall(handshake_request("/ws"))
    assert read_http_response_file(BufferedSock(stuck))[0] == 101
    blob = "y" * 200_000
    pushes = 60

    async def main():
        clients = [await ws_connect(g.url()) for _ in range(4)]
        try:
            for ws in clients:
                await _conn_id(ws)

            async def reader(ws):
                for i in range(pushes):
                    m = await recv_json(ws, 20)
                    assert m == {"cmd": "blob", "data": {"i": i, "b": blob}}, f"push {i}: {str(m)[:100]}"
            readers = [asyncio.create_task(reader(ws)) for ws in clients]
            for i in range(pushes):
                st, _, body = await _admin(g, "POST", "/v1/publish", {"to": {"all": True}, "cmd": "blob",
                                                                     "data": {"i": i, "b": blob}})
                assert st == 200
            await asyncio.gather(*readers)
        finally:
            for ws in clients:
                await ws.close()
    try:
        run(main(), timeout=60)
        wait_until(lambda: g.fd_breakdown(backend.port)["client"] == 0, timeout=10,
                   what="the stuck client to be disconnected")
    finally:
        stuck.close()


def test_readyz_during_drain(gateway_factory, backend):
    """While draining (SIGTERM, a call still in flight) the admin API reports not ready."""
    g = gateway_factory(modules=_modules(backend), admin=True)

    async def main():
        async with ws_connect(g.url()) as ws:
            await ws.send('{"cmd":"slow1000","id":1,"data":{}}')
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: backend.wait_records(1, path="/slow/1000"))
            assert (await _admin(g, "GET", "/readyz"))[0] == 200
            g.sigterm()

            def not_ready():
                try:
                    return g.admin("GET", "/readyz", token=None, timeout=1)[0] == 503
                except OSError:
                    return False
            await loop.run_in_executor(None, lambda: wait_until(not_ready, timeout=0.8, what="/readyz to say 503"))
            assert await recv_json(ws) == {"cmd": "slow1000", "id": 1, "data": {"ok": True}}
    run(main())
    assert g.proc.wait(15) == 0
