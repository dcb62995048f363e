"""Disconnect hooks across nodes (DESIGN §8, issue 9 point 5): a node that dies has its sessions'
disconnect hooks sent by a surviving node, once each, with code 1006 and reason `node lost`; a node
that stops gracefully sends its own, and no survivor sends them again.

Real `redis-server` started by the test, three gateway nodes with `nodeTimeoutSeconds: 2`, the e2e
backend recording the hooks; under the engine of the run."""
import json
import signal
import time

import pytest

from helpers import call, run, wait_until, ws_connect
from test_cluster import REDIS, redis, start_listed_nodes  # noqa: F401 (redis: the fixture)

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (apt-get install redis-server)")


def start_nodes(gateway_factory, backend, redis, count=3):
    import urllib.parse
    join = backend.url("/respond?" + urllib.parse.urlencode(
        [("h", "Gateway-Join: lobby"), ("h", "Gateway-Set-User: u-1"), ("body", '{"ok":true}')]))
    module = {"path": "/c", "parser": "json", "disconnect": backend.url("/disconnect"),
              "routes": {"join": join, "ping": {"local": "echo"}, "headers": backend.url("/headers")}}
    return start_listed_nodes(gateway_factory, redis, module, [f"h{i}" for i in range(count)])


async def _conn_id(ws):
    return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]


def test_a_killed_node_has_its_hooks_sent_once_by_a_survivor(redis, gateway_factory, backend):
    a, b, victim = start_nodes(gateway_factory, backend, redis)
    ids = []

    async def main():
        sockets = [await ws_connect(victim.url("/c")) for _ in range(2)]
        for ws in sockets:
            ids.append(await _conn_id(ws))
        assert (await call(sockets[0], {"cmd": "join", "data": {}}))["data"] == {"ok": True}
        wait_until(lambda: len(redis.command("HKEYS", "t:conns:h2").split(b"\r\n")) >= 5, timeout=5,
                   what="both sessions recorded in Redis")
        # The join's user and room reach the record in a later write than the session itself.
        wait_until(lambda: b"u-1" in redis.command("HGET", "t:conns:h2", ids[0]), timeout=5,
                   what="the joined session's user recorded in Redis")
        killed = time.monotonic()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(5)
        victim.expected_exit = -signal.SIGKILL
        hooks = wait_until(lambda: (lambda d: d if len(d) >= 2 else None)(
            [h for h in backend.disconnects() if h["connectionId"] in ids]), timeout=10,
            what="the killed node's two disconnect hooks")
        took = time.monotonic() - killed
        print(f"hooks of the killed node arrived {took * 1000:.0f} ms after SIGKILL")
        assert took < 2 + 1.5, took
        assert sorted(h["connectionId"] for h in hooks) == sorted(ids)
        for h in hooks:
            assert h["code"] == 1006 and h["reason"] == "node lost", h
        joined = next(h for h in hooks if h["connectionId"] == ids[0])
        assert joined["user"] == "u-1" and joined["rooms"] == ["lobby"], joined
        assert joined["durationMs"] >= 0
        # Both survivors have seen the node go; still exactly one hook per session.
        wait_until(lambda: all("h2" in g.log() and ("lost" in g.log() or "no longer listed" in g.log())
                               for g in (a, b)), timeout=5, what="both survivors saw h2 go")
        assert sorted(h["connectionId"] for h in backend.disconnects() if h["connectionId"] in ids) == sorted(ids)
        assert redis.command("EXISTS", "t:conns:h2").startswith(b":0"), "the lost node's sessions are forgotten"
    run(main())


def test_a_stopped_node_sends_its_own_hooks_and_nobody_repeats_them(redis, gateway_factory, backend):
    a, b, leaving = start_nodes(gateway_factory, backend, redis)

    async def main():
        ws = await ws_connect(leaving.url("/c"))
        cid = await _conn_id(ws)
        assert leaving.stop(15) == 0
        hooks = wait_until(lambda: [h for h in backend.disconnects() if h["connectionId"] == cid], timeout=10,
                           what="the stopped node's hook")
        assert hooks[0]["code"] == 1001, hooks
        # The absence of a second hook can only be seen by waiting past the node timeout (2 s):
        # a survivor that wrongly took the node for dead would have sent it by then.
        time.sleep(3)
        assert len([h for h in backend.disconnects() if h["connectionId"] == cid]) == 1
        assert not any("node h2 lost" in g.log() for g in (a, b))
    run(main())


def test_sessions_are_recorded_again_after_redis_lost_them(redis, gateway_factory, backend):
    """A Redis restarted without persistence forgets every session record; each node writes its own
    again when it reconnects, so a node that dies after that still has its hooks sent."""
    a, victim = start_nodes(gateway_factory, backend, redis, count=2)

    def recorded():
        reply = redis.command("HLEN", "t:conns:h1")
        return int(reply.strip().lstrip(b":")) if reply.startswith(b":") else -1

    async def main():
        sockets = [await ws_connect(victim.url("/c")) for _ in range(3)]
        ids = [await _conn_id(ws) for ws in sockets]
        assert (await call(sockets[0], {"cmd": "join", "data": {}}))["data"] == {"ok": True}
        wait_until(lambda: recorded() == 3, timeout=5, what="three sessions recorded")
        redis.stop()
        wait_until(lambda: "down (publisher)" in victim.log(), timeout=5, what="the node saw Redis go")
        await sockets[2].close()   # ends while Redis is down: must not come back with the others
        redis.start()
        assert recorded() in (0, 2)
        wait_until(lambda: recorded() == 2, timeout=5, what="the two live sessions recorded again")
        record = json.loads(redis.command("HGET", "t:conns:h1", ids[0]).split(b"\r\n")[1])
        assert record["user"] == "u-1" and record["rooms"] == ["lobby"], record
        # Both listed again in Redis (the node set is what a survivor looks for a lost node in).
        wait_until(lambda: b"h0" in redis.command("SMEMBERS", "t:nodes") and b"h1" in redis.command("SMEMBERS", "t:nodes"),
                   timeout=5, what="both nodes listed again")
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(5)
        victim.expected_exit = -signal.SIGKILL
        hooks = wait_until(lambda: (lambda d: d if len(d) >= 2 else None)(
            [h for h in backend.disconnects() if h["connectionId"] in ids[:2] and h["reason"] == "node lost"]),
            timeout=10, what="the killed node's two hooks")
        assert sorted(h["connectionId"] for h in hooks) == sorted(ids[:2])
        assert [h["code"] for h in backend.disconnects() if h["connectionId"] == ids[2]] == [1000]
    run(main())
