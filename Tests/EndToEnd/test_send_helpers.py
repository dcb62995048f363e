"""The admin publish API's target + `except` combinations (DESIGN §5), across two loops: exactly the
targeted connections minus the excepted ones get the push, each once, and `delivered` is exact."""
import asyncio
import json

from helpers import call, recv_json, run, ws_connect

MISSING = "01ffffffffffffffffffffffff"


def _modules(backend):
    routes = {"headers": backend.url("/headers"), "local": {"local": "echo"}}
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept")},
    ]


def test_publish_targets_with_except(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend), args=["--loops", "2"], admin=True)
    seq = [0]

    async def publish(body):
        st, _, data = await asyncio.get_running_loop().run_in_executor(
            None, lambda: g.admin("POST", "/v1/publish", body))
        assert st == 200, (body, st, data)
        return json.loads(data)["delivered"]

    async def verify(clients, body, recipients):
        """After the publish answered, every push it made is queued: each client's next frames are the
        push (recipients only, once) and then the reply to a fresh round trip."""
        delivered = await publish(body)
        problems = []
        for c in clients:
            seq[0] += 1
            await c["ws"].send(json.dumps({"cmd": "local", "id": seq[0], "data": "sentinel"}))
            frames = []
            while True:
                m = await recv_json(c["ws"])
                if m.get("id") == seq[0]:
                    break
                frames.append(m)
            want = [{"cmd": body["cmd"], "data": body["data"]}] if c in recipients else []
            if frames != want:
                problems.append(f"{c['name']} (loop {c['loop']}): got {frames}, expected {want}")
        assert not problems, f"{body}:\n" + "\n".join(problems)
        assert delivered == len(recipients), f"{body}: delivered {delivered}, expected {len(recipients)}"

    async def main():
        clients = []
        # Connect until both loops hold at least three plain and two hooked (user u-duo) connections.
        while True:
            hooked = len(clients) % 2 == 1
            ws = await ws_connect(g.url("/hooked?user=duo" if hooked else "/ws"))
            if hooked:
                assert await recv_json(ws) == {"welcome": True}
            cid = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
            clients.append({"ws": ws, "id": cid, "name": f"c{len(clients)}", "hooked": hooked})
            loops = {x["id"]: x["loop"] for x in g.admin_json("GET", "/v1/connections")["connections"]}
            for c in clients:
                c["loop"] = loops[c["id"]]
            counts = [(sum(1 for c in clients if c["loop"] == lp and not c["hooked"]),
                       sum(1 for c in clients if c["loop"] == lp and c["hooked"])) for lp in (0, 1)]
            if all(p >= 3 and h >= 2 for p, h in counts):
                break
            assert len(clients) < 40, f"connections did not spread over both loops: {counts}"
        try:
            plain0 = [c for c in clients if c["loop"] == 0 and not c["hooked"]]
            plain1 = [c for c in clients if c["loop"] == 1 and not c["hooked"]]
            hooked = [c for c in clients if c["hooked"]]
            a, b = plain0[0], plain1[0]   # on different loops

            # The brief's two cases.
            await verify(clients, {"to": {"connections": [a["id"], b["id"]]}, "except": [b["id"]], "cmd": "s1",
                                   "data": 1}, [a])
            x = plain1[1]
            await verify(clients, {"to": {"all": True}, "except": [x["id"]], "cmd": "s2", "data": 2},
                         [c for c in clients if c is not x])
            # Same loop pair, the other way round.
            await verify(clients, {"to": {"connections": [a["id"], b["id"]]}, "except": [a["id"]], "cmd": "s3",
                                   "data": 3}, [b])
            # Duplicates and unknown ids count once / not at all.
            await verify(clients, {"to": {"connections": [a["id"], a["id"], b["id"], MISSING]}, "cmd": "s4",
                                   "data": 4}, [a, b])
            # Except several, on both loops, plus an unknown id.
            ex = [plain0[1], plain1[2], hooked[0]]
            await verify(clients, {"to": {"all": True}, "except": [c["id"] for c in ex] + [MISSING], "cmd": "s5",
                                   "data": 5}, [c for c in clients if c not in ex])
            # Room and user targets with except.
            h_ex = [c for c in hooked if c["loop"] == 0][0]
            await verify(clients, {"to": {"room": "lobby"}, "except": [h_ex["id"]], "cmd": "s6", "data": 6},
                         [c for c in hooked if c is not h_ex])
            h_ex = [c for c in hooked if c["loop"] == 1][0]
            await verify(clients, {"to": {"user": "u-duo"}, "except": [h_ex["id"], a["id"]], "cmd": "s7", "data": 7},
                         [c for c in hooked if c is not h_ex])
            # Excepting every target: nobody, delivered 0.
            await verify(clients, {"to": {"connections": [a["id"], b["id"]]}, "except": [b["id"], a["id"]],
                                   "cmd": "s8", "data": 8}, [])
            await verify(clients, {"to": {"room": "lobby"}, "except": [c["id"] for c in hooked], "cmd": "s9",
                                   "data": 9}, [])
        finally:
            for c in clients:
                await c["ws"].close()

    run(main())
