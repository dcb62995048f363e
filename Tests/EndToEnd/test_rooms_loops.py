"""Rooms and users across event loops (`--loops 2`): a room or a user whose connections live on both
loops gets each delivery exactly once per connection, whoever sends it (a route's `deliver:
room:<name>`, a backend's `Gateway-Deliver: user:<id>`, the admin publish API with every target), and
when the clients go away their rooms and users go away too (DESIGN §4, §5, §7)."""
import asyncio
import json

from helpers import call, recv_json, run, wait_until, ws_connect

MIN_CLIENTS = 40
MAX_CLIENTS = 80
USERS = 4


def _modules(backend):
    routes = {
        "headers": backend.url("/headers"),
        "to.lobby": {"url": backend.url("/echo"), "deliver": "room:lobby"},
        "to.adm": {"url": backend.url("/echo"), "deliver": "room:adm"},
        "to.myrooms": {"url": backend.url("/echo"), "deliver": "room"},
        "dyn": backend.url("/dynamic"),
    }
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept"),
         "disconnect": backend.url("/disconnect")},
    ]


class Client:
    def __init__(self, ws, index, user):
        self.ws = ws
        self.index = index
        self.user = user          # None for the plain module
        self.id = None
        self.loop = None
        self.inbox = []
        self.reader = None

    async def read_forever(self):
        try:
            async for msg in self.ws:
                self.inbox.append(json.loads(msg))
        except Exception:  # closed: the test notices missing messages
            pass


def _pick(candidates, loop):
    """A candidate on `loop` if there is one, else any."""
    assert candidates
    return next((c for c in candidates if c.loop == loop), candidates[0])


async def _admin(g, method, path, body=None):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: g.admin(method, path, body))


async def _admin_json(g, method, path, body=None):
    st, _, data = await _admin(g, method, path, body)
    assert st == 200, (method, path, st, data)
    return json.loads(data)


async def _wait(predicate, what, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_rooms_and_users_across_two_loops(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend), args=["--loops", "2"], admin=True)
    barrier_n = [0]

    async def connect(n_hooked, clients):
        i = len(clients)
        if n_hooked:
            user = f"g{(i // 2) % USERS}"
            ws = await ws_connect(g.url(f"/hooked?user={user}"))
            assert await recv_json(ws) == {"welcome": True}
            c = Client(ws, i, "u-" + user)
        else:
            ws = await ws_connect(g.url("/ws"))
            c = Client(ws, i, None)
        h = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
        c.id = h["gateway-connection-id"]
        clients.append(c)

    async def barrier(clients):
        """Every delivery made so far is in each client's inbox: a publish to all, written after it on
        every loop (each connection's frames are written in order), has arrived everywhere."""
        barrier_n[0] += 1
        k = barrier_n[0]
        assert await _admin_json(g, "POST", "/v1/publish", {"to": {"all": True}, "cmd": "barrier", "data": k}) == \
            {"delivered": len(clients)}
        await _wait(lambda: all({"cmd": "barrier", "data": k} in c.inbox for c in clients), f"barrier {k}")

    async def check(clients, tag, expected, form):
        """Each client in `expected` got exactly one message tagged `tag` (equal to `form(c)`), every other
        client none. Clears the inboxes."""
        expected_ids = {c.id for c in expected}
        await _wait(lambda: all(any(isinstance(m.get("data"), dict) and m["data"].get("tag") == tag for m in c.inbox)
                                for c in expected), f"{tag} at {len(expected)} recipients")
        await barrier(clients)
        problems = []
        for c in clients:
            got = [m for m in c.inbox if m.get("cmd") != "barrier"]
            want = [form(c)] if c.id in expected_ids else []
            if got != want:
                problems.append(f"client {c.index} (loop {c.loop}, user {c.user}): got {got}, expected {want}")
            c.inbox.clear()
        assert not problems, f"{tag}:\n" + "\n".join(problems[:10])

    async def main():
        clients = []
        try:
            # Connect until both loops hold hooked and plain clients and some user spans both loops.
            while True:
                for _ in range(10):
                    await connect(len(clients) % 2 == 0, clients)
                listing = await _admin_json(g, "GET", "/v1/connections")
                loops = {x["id"]: x["loop"] for x in listing["connections"]}
                assert listing["count"] == len(clients)
                for c in clients:
                    c.loop = loops[c.id]
                hooked = [c for c in clients if c.user]
                plain = [c for c in clients if not c.user]
                user_loops = {}
                for c in hooked:
                    user_loops.setdefault(c.user, set()).add(c.loop)
                spanning = sorted(u for u, ls in user_loops.items() if ls == {0, 1})
                ok = {c.loop for c in hooked} == {0, 1} and {c.loop for c in plain} == {0, 1} and spanning
                if ok and len(clients) >= MIN_CLIENTS:
                    break
                assert len(clients) < MAX_CLIENTS, f"connections did not spread over both loops: {loops}"
            user = spanning[0]
            for c in clients:
                c.reader = asyncio.create_task(c.read_forever())

            # Rooms via the admin API: every third connection, at least one per loop.
            adm = [c for c in clients if c.index % 3 == 0]
            for lp in (0, 1):
                if lp not in {c.loop for c in adm}:
                    adm.append(next(c for c in clients if c.loop == lp))
            for c in adm:
                rooms = (await _admin_json(g, "POST", f"/v1/connections/{c.id}/rooms", {"join": ["adm"]}))["rooms"]
                assert "adm" in rooms
            # The indexes agree with what the clients were given.
            lobby = await _admin_json(g, "GET", "/v1/connections?room=lobby")
            assert sorted(x["id"] for x in lobby["connections"]) == sorted(c.id for c in hooked)
            assert {x["loop"] for x in lobby["connections"]} == {0, 1}
            listed = await _admin_json(g, "GET", "/v1/connections?room=adm")
            assert sorted(x["id"] for x in listed["connections"]) == sorted(c.id for c in adm)
            for u in user_loops:
                listed = await _admin_json(g, "GET", f"/v1/connections?user={u}")
                assert sorted(x["id"] for x in listed["connections"]) == sorted(c.id for c in hooked if c.user == u)
            stats = await _admin_json(g, "GET", "/v1/stats")
            assert stats["connections"]["websockets"] == len(clients)
            assert stats["rooms"] == 3 and stats["users"] == len(user_loops)   # lobby, news, adm
            assert sorted(lp["websockets"] for lp in stats["loops"]) == \
                sorted([sum(c.loop == 0 for c in clients), sum(c.loop == 1 for c in clients)])

            def push(cmd, tag):
                return lambda c: {"cmd": cmd, "data": {"tag": tag}}

            # 1. A route with deliver room:lobby, from a non-member on loop 0: members on both loops get
            #    the push, the sender nothing.
            sender = next(c for c in plain if c.loop == 0)
            await sender.ws.send(json.dumps({"cmd": "to.lobby", "id": "r1", "data": {"tag": "r1"}}))
            await check(clients, "r1", hooked, push("to.lobby", "r1"))

            # 2. The same from a member on loop 1: it gets the reply form (with id), the others the push.
            sender = next(c for c in hooked if c.loop == 1)
            await sender.ws.send(json.dumps({"cmd": "to.lobby", "id": "r2", "data": {"tag": "r2"}}))
            await check(clients, "r2", hooked, lambda c: {"cmd": "to.lobby", "id": "r2", "data": {"tag": "r2"}}
                        if c is sender else {"cmd": "to.lobby", "data": {"tag": "r2"}})

            # 3. deliver room:adm (joined through the admin API).
            sender = _pick([c for c in plain if c not in adm], 1)
            await sender.ws.send(json.dumps({"cmd": "to.adm", "id": "r3", "data": {"tag": "r3"}}))
            await check(clients, "r3", adm, push("to.adm", "r3"))

            # 3b. deliver room (every room of the sender): members of lobby and news on both loops get
            #     it once although they are in both rooms.
            sender = _pick([c for c in hooked if c not in adm], 0)
            await sender.ws.send(json.dumps({"cmd": "to.myrooms", "id": "r3b", "data": {"tag": "r3b"}}))
            await check(clients, "r3b", hooked, lambda c: {"cmd": "to.myrooms", "id": "r3b", "data": {"tag": "r3b"}}
                        if c is sender else {"cmd": "to.myrooms", "data": {"tag": "r3b"}})

            # 4. Gateway-Deliver: user:<id> from the backend, the user's connections on both loops.
            sender = next(c for c in plain if c.loop == 0)
            spec = {"headers": {"Gateway-Deliver": f"user:{user}"}, "body": {"tag": "u4"}}
            await sender.ws.send(json.dumps({"cmd": "dyn", "id": "u4", "data": spec}))
            await check(clients, "u4", [c for c in hooked if c.user == user], push("dyn", "u4"))

            # 5-9. The admin publish API, every target.
            async def publish(body, expected):
                got = await _admin_json(g, "POST", "/v1/publish", body)
                assert got == {"delivered": len(expected)}, (body["to"], got, len(expected))
                await check(clients, body["data"]["tag"], expected, push(body["cmd"], body["data"]["tag"]))

            await publish({"to": {"room": "lobby"}, "cmd": "p", "data": {"tag": "a5"}}, hooked)
            await publish({"to": {"room": "adm"}, "cmd": "p", "data": {"tag": "a6"}}, adm)
            await publish({"to": {"user": user}, "cmd": "p", "data": {"tag": "a7"}},
                          [c for c in hooked if c.user == user])
            chosen = [c for c in clients if c.index % 5 == 1]
            for lp in (0, 1):
                if lp not in {c.loop for c in chosen}:
                    chosen.append(next(c for c in clients if c.loop == lp))
            ids = [c.id for c in chosen] + [chosen[0].id, "00ffffffffffffffffffffffff"]  # a duplicate, an unknown
            await publish({"to": {"connections": ids}, "cmd": "p", "data": {"tag": "a8"}}, chosen)
            excluded = [c for c in clients if c.index % 4 == 2]
            for lp in (0, 1):
                if lp not in {c.loop for c in excluded}:
                    excluded.append(next(c for c in clients if c.loop == lp))
            await publish({"to": {"all": True}, "except": [c.id for c in excluded], "cmd": "p", "data": {"tag": "a9"}},
                          [c for c in clients if c not in excluded])
        finally:
            for c in clients:
                await c.ws.close()
            for c in clients:
                if c.reader:
                    await c.reader
        return clients, user_loops

    clients, user_loops = run(main(), timeout=90)

    # Everything the clients were part of disappears once they are gone.
    def gone():
        stats = g.admin_json("GET", "/v1/stats")
        leftovers = []
        for q in ["room=lobby", "room=news", "room=adm"] + [f"user={u}" for u in user_loops] + [""]:
            n = g.admin_json("GET", "/v1/connections" + (f"?{q}" if q else ""))["count"]
            if n:
                leftovers.append((q, n))
        counts = (stats["connections"]["open"], stats["connections"]["websockets"], stats["rooms"], stats["users"],
                  [lp["websockets"] for lp in stats["loops"]], [lp["connections"] for lp in stats["loops"]])
        return (not leftovers and counts == (0, 0, 0, 0, [0, 0], [0, 0])) or None
    try:
        wait_until(gone, timeout=10, what="rooms, users and connections to disappear")
    except AssertionError:
        raise AssertionError(f"left after every client closed: stats {g.admin_json('GET', '/v1/stats')}")
    for c in clients:
        if c.user:
            d = backend.wait_disconnect(c.id)
            assert d["user"] == c.user and d["code"] == 1000
            assert "lobby" in d["rooms"] and "news" in d["rooms"]
    hooks = [d["connectionId"] for d in backend.disconnects()]
    assert len(hooks) == len(set(hooks)) == sum(1 for c in clients if c.user), "a disconnect hook twice or missing"
