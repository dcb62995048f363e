"""Fan-out (DESIGN §2 `deliver`, §4 `Gateway-Deliver` and session headers): who receives a reply, the
push form `{"cmd","data"}` for everyone but the sender, rooms, users, connections, Gateway-Close."""
import asyncio
import json
import urllib.parse

from helpers import call, expect_closed, recv_json, run, ws_connect


def _respond(backend, *headers, body=None):
    """A backend URL answering 200 with these response headers (and the request body, or `body`)."""
    q = [("h", h) for h in headers]
    if body is not None:
        q.append(("body", body))
    return backend.url("/respond?" + urllib.parse.urlencode(q))


def _modules(backend, **extra_routes):
    routes = {
        "x": backend.url("/echo"),
        "headers": backend.url("/headers"),
        "to.all": {"url": backend.url("/echo"), "deliver": "all"},
        "to.others": {"url": backend.url("/echo"), "deliver": "others"},
        "to.room": {"url": backend.url("/echo"), "deliver": "room"},
        "to.r1": {"url": backend.url("/echo"), "deliver": "room:r1"},
        "to.none": {"url": backend.url("/echo"), "deliver": "none"},
        "join.r1r2": _respond(backend, "Gateway-Join: r1, r2", body='{"joined":true}'),
        "join.r2": _respond(backend, "Gateway-Join: r2", body='{"joined":true}'),
        "leave.r1": _respond(backend, "Gateway-Leave: r1", body='{"left":true}'),
        "setuser": _respond(backend, "Gateway-Set-User: u-renamed", body='{"ok":true}'),
        "local": {"local": "echo"},
    }
    routes.update(extra_routes)
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept"),
         "disconnect": backend.url("/disconnect")},
        {"path": "/text", "parser": "text", "routes": {"x": backend.url("/echo")}},
    ]


async def _conn_id(ws):
    return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]


async def _nothing_pending(ws, tag):
    """Asserts the client has received nothing unexpected: the next frame is the reply to a fresh
    round trip through the backend (pushes are dispatched before the sender's reply is written)."""
    reply = await call(ws, {"cmd": "x", "id": f"sentinel-{tag}", "data": tag})
    assert reply == {"cmd": "x", "id": f"sentinel-{tag}", "data": tag}, f"unexpected frame: {reply}"


async def _join(ws, cmd):
    assert (await call(ws, {"cmd": cmd, "data": {}}))["data"] in ({"joined": True}, {"left": True})


def test_deliver_all_and_others(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b, ws_connect(g.url()) as c, \
                ws_connect(g.url("/text")) as t:
            for ws in (a, b, c):
                await _conn_id(ws)  # every connection is fully set up
            await t.send("x:ping")
            assert await asyncio.wait_for(t.recv(), 5) == "x:ping"

            reply = await call(a, {"cmd": "to.all", "id": 1, "data": {"n": 1}})
            assert reply == {"cmd": "to.all", "id": 1, "data": {"n": 1}}
            for ws in (b, c):
                assert await recv_json(ws) == {"cmd": "to.all", "data": {"n": 1}}
            # A client of a text module gets the push in its own wire format.
            assert await asyncio.wait_for(t.recv(), 5) == 'to.all:{"n":1}'

            await a.send(json.dumps({"cmd": "to.others", "id": 2, "data": {"n": 2}}))
            for ws in (b, c):
                assert await recv_json(ws) == {"cmd": "to.others", "data": {"n": 2}}
            await _nothing_pending(a, "a")  # the sender got no reply
            await _nothing_pending(b, "b")
    run(main())


def test_deliver_sender_rooms_each_recipient_once(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b, ws_connect(g.url()) as c, \
                ws_connect(g.url()) as d:
            await _join(a, "join.r1r2")
            await _join(b, "join.r1r2")   # in both of the sender's rooms: must get the push once
            await _join(c, "join.r2")
            await _conn_id(d)             # in no room
            reply = await call(a, {"cmd": "to.room", "id": 7, "data": [1]})
            assert reply == {"cmd": "to.room", "id": 7, "data": [1]}
            assert await recv_json(b) == {"cmd": "to.room", "data": [1]}
            assert await recv_json(c) == {"cmd": "to.room", "data": [1]}
            await _nothing_pending(b, "b")  # not a second copy
            await _nothing_pending(d, "d")
    run(main())


def test_deliver_named_room(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b, ws_connect(g.url()) as c:
            await _join(b, "join.r1r2")
            await _join(c, "join.r2")
            await _conn_id(a)
            await a.send(json.dumps({"cmd": "to.r1", "id": 1, "data": "hi r1"}))
            assert await recv_json(b) == {"cmd": "to.r1", "data": "hi r1"}
            await _nothing_pending(a, "a")  # the sender is not in r1
            await _nothing_pending(c, "c")
            # Leave r1: no more pushes for r1.
            await _join(b, "leave.r1")
            await a.send(json.dumps({"cmd": "to.r1", "id": 2, "data": "again"}))
            await _nothing_pending(a, "a2")
            await _nothing_pending(b, "b2")
    run(main())


def test_deliver_none(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b:
            await _conn_id(b)
            await a.send(json.dumps({"cmd": "to.none", "id": 1, "data": {}}))
            await _nothing_pending(a, "a")
            await _nothing_pending(b, "b")
    run(main())
    assert len(backend.records(path="/echo")) >= 1  # the call itself was made


def test_gateway_deliver_user(gateway_factory, backend):
    routes = {
        "to.bob": _respond(backend, "Gateway-Deliver: user:u-bob", body='{"for":"bob"}'),
    }
    g = gateway_factory(modules=_modules(backend, **routes))

    async def main():
        async with ws_connect(g.url("/hooked?user=alice")) as alice, \
                ws_connect(g.url("/hooked?user=bob")) as bob1, ws_connect(g.url("/hooked?user=bob")) as bob2, \
                ws_connect(g.url("/hooked?user=carol")) as carol:
            for ws in (alice, bob1, bob2, carol):
                assert await recv_json(ws) == {"welcome": True}
            ids = [await _conn_id(ws) for ws in (alice, bob1, bob2, carol)]
            assert len(set(ids)) == 4
            await alice.send(json.dumps({"cmd": "to.bob", "id": 1, "data": {}}))
            for ws in (bob1, bob2):
                assert await recv_json(ws) == {"cmd": "to.bob", "data": {"for": "bob"}}
            await _nothing_pending(alice, "alice")
            await _nothing_pending(carol, "carol")

    run(main())


def test_gateway_deliver_connections(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend, dyn=backend.url("/dynamic")))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b, ws_connect(g.url()) as c, \
                ws_connect(g.url()) as d:
            ida, idb, idc, idd = [await _conn_id(ws) for ws in (a, b, c, d)]
            spec = {"headers": {"Gateway-Deliver": f"connections:{idb}, {idd}"}, "body": {"to": "b and d"}}
            await a.send(json.dumps({"cmd": "dyn", "id": 1, "data": spec}))
            for ws in (b, d):
                assert await recv_json(ws) == {"cmd": "dyn", "data": {"to": "b and d"}}
            await _nothing_pending(a, "a")
            await _nothing_pending(c, "c")
            # The sender among the targets gets the reply form (with its id), once.
            spec = {"headers": {"Gateway-Deliver": f"connections:{ida},{idc}"}, "body": 5}
            assert await call(a, {"cmd": "dyn", "id": 2, "data": spec}) == {"cmd": "dyn", "id": 2, "data": 5}
            assert await recv_json(c) == {"cmd": "dyn", "data": 5}
            await _nothing_pending(a, "a2")
            await _nothing_pending(b, "b2")
    run(main())


def test_gateway_deliver_overrides_route(gateway_factory, backend):
    routes = {
        "all.but.sender": {"url": _respond(backend, "Gateway-Deliver: sender", body='"only me"'), "deliver": "all"},
        "sender.but.all": _respond(backend, "Gateway-Deliver: all", body='"everyone"'),
    }
    g = gateway_factory(modules=_modules(backend, **routes))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b:
            await _conn_id(b)
            assert await call(a, {"cmd": "all.but.sender", "id": 1, "data": {}}) == \
                {"cmd": "all.but.sender", "id": 1, "data": "only me"}
            await _nothing_pending(b, "b")
            assert await call(a, {"cmd": "sender.but.all", "id": 2, "data": {}}) == \
                {"cmd": "sender.but.all", "id": 2, "data": "everyone"}
            assert await recv_json(b) == {"cmd": "sender.but.all", "data": "everyone"}
    run(main())


def test_session_headers_from_message_replies(gateway_factory, backend):
    """Gateway-Join, Gateway-Leave and Gateway-Set-User on a message reply change the session: later
    backend calls carry them."""
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/hooked?user=dave")) as ws:
            assert await recv_json(ws) == {"welcome": True}
            h = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
            assert (h.get("gateway-user"), h.get("gateway-rooms")) == ("u-dave", "lobby,news")
            await _join(ws, "join.r1r2")
            await _join(ws, "leave.r1")
            await call(ws, {"cmd": "setuser", "data": {}})
            h = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
            assert h.get("gateway-user") == "u-renamed"
            assert sorted(h.get("gateway-rooms", "").split(",")) == ["lobby", "news", "r2"]
            conn = h["gateway-connection-id"]
            await ws.close()
            return conn

    conn = run(main())
    d = backend.wait_disconnect(conn)
    assert d["user"] == "u-renamed"
    assert sorted(d["rooms"]) == ["lobby", "news", "r2"]


def test_gateway_close_header(gateway_factory, backend):
    routes = {"kick": _respond(backend, "Gateway-Close: 4000 bye now", body='{"kicked":true}')}
    g = gateway_factory(modules=_modules(backend, **routes))

    async def main():
        async with ws_connect(g.url("/hooked?user=eve")) as ws:
            assert await recv_json(ws) == {"welcome": True}
            conn = await _conn_id(ws)
            # The reply is delivered first, then the close.
            reply = await call(ws, {"cmd": "kick", "id": 1, "data": {}})
            assert reply == {"cmd": "kick", "id": 1, "data": {"kicked": True}}
            code = await expect_closed(ws)
            assert code == 4000
            assert ws.close_reason == "bye now"
            return conn

    conn = run(main())
    d = backend.wait_disconnect(conn)
    assert (d["code"], d["reason"]) == (4000, "bye now")


def test_post_command_fans_out(gateway_factory, backend):
    """`POST <module path>` with a fan-out route: the HTTP caller gets the reply envelope, WebSocket
    clients get the push."""
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url()) as a, ws_connect(g.url()) as b:
            await _conn_id(a)
            await _conn_id(b)
            loop = asyncio.get_running_loop()
            status, _, body = await loop.run_in_executor(
                None, lambda: g.http("POST", "/ws", body='{"cmd":"to.all","id":"p1","data":{"from":"http"}}'))
            assert status == 200
            assert json.loads(body) == {"cmd": "to.all", "id": "p1", "data": {"from": "http"}}
            for ws in (a, b):
                assert await recv_json(ws) == {"cmd": "to.all", "data": {"from": "http"}}
    run(main())
