"""Presence across nodes (DESIGN §8, issue 9 point 4): `GET /v1/connections?room=&user=`,
`GET /v1/connections/{id}` and `GET /v1/stats` answer for the whole cluster, from any node.

Real `redis-server` started by the test and three gateway nodes (each with its admin listener),
under the engine of the run. Sessions get their user and rooms from a real backend route."""
import json
import signal
import time
import urllib.parse

import pytest

from helpers import call, run, wait_until, ws_connect
from test_admin_openapi import load_spec, validator
from test_cluster import REDIS, redis, start_listed_nodes  # noqa: F401 (redis: the fixture)

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (apt-get install redis-server)")


def start_nodes(gateway_factory, backend, redis, count=3, node_timeout=2):
    def identify(user, rooms):
        return backend.url("/respond?" + urllib.parse.urlencode(
            [("h", f"Gateway-Set-User: {user}"), ("h", f"Gateway-Join: {rooms}"), ("body", '{"ok":true}')]))
    module = {"path": "/c", "parser": "json",
              "routes": {"alice": identify("alice", "lobby,red"), "bob": identify("bob", "lobby"),
                         "headers": backend.url("/headers"), "ping": {"local": "echo"}}}
    return start_listed_nodes(gateway_factory, redis, module, [f"p{i}" for i in range(count)], node_timeout)


def checked(g, path, schema):
    """GET `path` on node `g`'s admin API, 200 and valid against the OpenAPI schema."""
    status, headers, body = g.admin("GET", path)
    assert status == 200 and headers["content-type"].startswith("application/json"), (status, body)
    doc = json.loads(body)
    spec = load_spec()
    errors = list(validator({"$ref": f"#/components/schemas/{schema}"}, spec["components"]["schemas"]).iter_errors(doc))
    assert not errors, (doc, [e.message for e in errors])
    return doc


async def _conn_id(ws):
    return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]


def test_every_node_answers_for_the_whole_cluster(redis, gateway_factory, backend):
    nodes = start_nodes(gateway_factory, backend, redis)

    async def main():
        # On node i: one alice (lobby, red) and i + 1 bobs (lobby): 1 + 2 + 3 bobs, 3 alices.
        people = {}
        sockets = []
        for i, g in enumerate(nodes):
            for who in ["alice"] + ["bob"] * (i + 1):
                ws = await ws_connect(g.url("/c"))
                assert (await call(ws, {"cmd": who, "data": {}}))["data"] == {"ok": True}
                people[await _conn_id(ws)] = (who, g.node)
                sockets.append(ws)
        alices = sorted(c for c, (w, _) in people.items() if w == "alice")
        for g in nodes:
            doc = checked(g, "/v1/connections", "ConnectionList")
            assert doc["count"] == 9 and doc["missing"] == [] and doc["truncated"] is False, doc
            assert [c["id"] for c in doc["connections"]] == sorted(people), "every session once, by id"
            for c in doc["connections"]:
                who, node = people[c["id"]]
                assert c["id"].startswith(node + "."), c
                assert c["user"] == who and c["path"] == "/c", c
                assert c["rooms"] == (["lobby", "red"] if who == "alice" else ["lobby"]), c
            red = checked(g, "/v1/connections?room=red", "ConnectionList")
            assert red["count"] == 3 and [c["id"] for c in red["connections"]] == alices, red
            assert checked(g, "/v1/connections?user=bob", "ConnectionList")["count"] == 6
            assert checked(g, "/v1/connections?room=lobby&user=alice", "ConnectionList")["count"] == 3
            for other in nodes:
                mine = checked(g, f"/v1/connections?node={other.node}", "ConnectionList")
                assert [c["id"] for c in mine["connections"]] == sorted(c for c, (_, n) in people.items() if n == other.node)
                assert mine["missing"] == []
            assert checked(g, f"/v1/connections?node={nodes[2].node}&user=alice", "ConnectionList")["count"] == 1
            assert checked(g, "/v1/connections?node=ghost", "ConnectionList")["count"] == 0
            assert checked(g, "/v1/connections?room=nowhere", "ConnectionList") == {
                "count": 0, "connections": [], "truncated": False, "missing": []}
            # One connection of each node, asked of every node: the owner answers with live fields.
            for cid, (who, node) in people.items():
                if who != "alice":
                    continue
                one = checked(g, f"/v1/connections/{cid}", "Connection")
                assert one["id"] == cid and one["user"] == "alice" and one["remoteAddress"] == "127.0.0.1", one
            status, _, _ = g.admin("GET", f"/v1/connections/{nodes[1].node}." + "0" * 26)
            assert status == 404, "no such session on a live node"
            status, _, _ = g.admin("GET", "/v1/connections/ghost." + "0" * 26)
            assert status == 404, "a node nobody knows owns nothing"
            stats = checked(g, "/v1/stats", "Stats")
            assert stats["node"] == g.node and stats["missing"] == [], stats
            assert stats["connections"]["websockets"] == 9, stats
            assert stats["rooms"] == 2 and stats["users"] == 2, "distinct across nodes"
            assert [n["id"] for n in stats["nodes"]] == [g.node] + sorted(n.node for n in nodes if n is not g)
            by_node = {n["id"]: n["connections"]["websockets"] for n in stats["nodes"]}
            assert by_node == {"p0": 2, "p1": 3, "p2": 4}, by_node
            assert sum(n["messages"]["received"] for n in stats["nodes"]) == stats["messages"]["received"]
            assert sum(lp["websockets"] for lp in stats["loops"]) == by_node[g.node], "loops: this node's"
        # A session that ends leaves every node's answer.
        gone = alices[0]
        ws = next(s for s, c in zip(sockets, people) if c == gone)
        await ws.close()
        wait_until(lambda: checked(nodes[2], "/v1/connections?room=red", "ConnectionList")["count"] == 2,
                   timeout=5, what="the closed session gone from the cluster's answer")
        status, _, _ = nodes[2].admin("GET", f"/v1/connections/{gone}")
        assert status == 404
        for s in sockets:
            await s.close()
    run(main())


def test_a_node_that_does_not_answer_is_named_missing(redis, gateway_factory, backend):
    # A timeout well past the three 1 s waits below, so the stopped node is not declared lost meanwhile.
    a, b, c = start_nodes(gateway_factory, backend, redis, node_timeout=30)

    async def main():
        ws = await ws_connect(c.url("/c"))
        assert (await call(ws, {"cmd": "bob", "data": {}}))["data"] == {"ok": True}
        cid = await _conn_id(ws)
        mine = await ws_connect(a.url("/c"))
        assert (await call(mine, {"cmd": "bob", "data": {}}))["data"] == {"ok": True}
        # Node c stops answering (SIGSTOP: alive to the kernel, silent to Redis) within its timeout.
        c.proc.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            doc = checked(a, "/v1/connections?user=bob", "ConnectionList")
            took = time.monotonic() - started
            assert doc["missing"] == ["p2"] and doc["count"] == 1, doc
            assert 0.9 < took < 3, f"partial answer after the 1 s wait, took {took:.2f} s"
            stats = checked(a, "/v1/stats", "Stats")
            assert stats["missing"] == ["p2"] and [n["id"] for n in stats["nodes"]] == ["p0", "p1"], stats
            status, _, body = a.admin("GET", f"/v1/connections/{cid}")
            assert status == 503 and b"p2" in body, (status, body)
        finally:
            c.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: checked(a, "/v1/connections?user=bob", "ConnectionList")["count"] == 2, timeout=10,
                   what="node c answering again")
        await ws.close()
        await mine.close()
    run(main())
