"""The cluster's node list (DESIGN §8): heartbeats, `GET /v1/cluster`, lost and departing nodes,
a Redis outage, and the cluster metrics.

Each test starts its own `redis-server` on a free loopback port and two or three gateway nodes with
`nodeTimeoutSeconds: 2` (beats every 2/3 s), under the engine of the run. Every wait is on a
condition; the timing assertions measure how long the condition took."""
import json
import signal
import time

import pytest

from helpers import ADMIN_TOKEN, call, free_port, run, wait_until, ws_connect
from test_admin_openapi import load_spec, validator
from test_cluster import FANOUT, REDIS, redis  # noqa: F401 (redis: the fixture)

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (apt-get install redis-server)")

TIMEOUT = 2  # cluster.nodeTimeoutSeconds of every node here


def start_node(gateway_factory, redis, node):
    admin_port = free_port()
    cfg = {"listen": "127.0.0.1:0", "modules": [FANOUT],
           "admin": {"listen": f"127.0.0.1:{admin_port}", "token": ADMIN_TOKEN},
           "cluster": {"redis": redis.url, "node": node, "prefix": "t", "nodeTimeoutSeconds": TIMEOUT}}
    g = gateway_factory(config=cfg)
    g.admin_port = admin_port
    g.node = node
    return g


def cluster(g):
    """`GET /v1/cluster` of node `g`, checked against the OpenAPI document."""
    status, headers, body = g.admin("GET", "/v1/cluster")
    assert status == 200 and headers["content-type"].startswith("application/json"), (status, body)
    doc = json.loads(body)
    spec = load_spec()
    errors = list(validator({"$ref": "#/components/schemas/Cluster"}, spec["components"]["schemas"]).iter_errors(doc))
    assert not errors, (doc, [e.message for e in errors])
    return doc


def listed(g):
    """{id: entry} of the nodes `g` lists."""
    return {n["id"]: n for n in cluster(g)["nodes"]}


def metrics(g):
    _, _, body = g.admin("GET", "/metrics")
    return body.decode()


def start_cluster(gateway_factory, redis, count):
    nodes = [start_node(gateway_factory, redis, f"n{i}") for i in range(count)]
    ids = {g.node for g in nodes}
    for g in nodes:
        wait_until(lambda: set(listed(g)) == ids and all(n["state"] == "up" for n in listed(g).values()),
                   timeout=10, what=f"{g.node} to list every node, all up")
    return nodes


def test_every_node_lists_every_node_with_its_connections(redis, gateway_factory):
    nodes = start_cluster(gateway_factory, redis, 3)
    want = {"n0": 1, "n1": 2, "n2": 0}

    async def main():
        sockets = [await ws_connect(g.url("/c")) for g in nodes for _ in range(want[g.node])]

        def counts_seen_everywhere():
            for g in nodes:
                doc = cluster(g)
                assert doc["node"] == g.node and doc["nodes"][0]["id"] == g.node, doc
                if {n["id"]: n["connections"] for n in doc["nodes"]} != want:
                    return False
            return True
        wait_until(counts_seen_everywhere, timeout=5, what="every node to show every node's WebSocket count")
        for g in nodes:
            doc = cluster(g)
            by_id = {n["id"]: n for n in doc["nodes"]}
            for other in nodes:
                entry = by_id[other.node]
                assert entry["address"] == f"127.0.0.1:{other.port}", entry
                assert entry["state"] == "up" and entry["lastHeartbeatMs"] > 0, entry
            assert doc["redis"] == [{"url": redis.url, "state": "up"}], doc
        # One delivery to "all" from n0: published there, received by the two others.
        await call(sockets[0], {"cmd": "all", "id": 1, "data": 1})
        for ws in sockets[1:]:
            await ws.recv()

        def sample(g, name):
            for line in metrics(g).splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
            raise AssertionError(f"no {name} in {g.node}'s /metrics")
        wait_until(lambda: sample(nodes[1], "gateway_cluster_received_total") >= 1, what="n1 to count the delivery")
        assert sample(nodes[0], "gateway_cluster_published_total") == 1
        assert sample(nodes[0], "gateway_cluster_received_total") == 0   # its own publish is not received
        # The cross-node latency: one observation on each receiver, none on the publisher.
        wait_until(lambda: sample(nodes[2], "gateway_cluster_received_total") >= 1, what="n2 to count the delivery")
        for g, n in zip(nodes, (0, 1, 1)):
            assert sample(g, "gateway_cluster_delivery_latency_seconds_count") == n
            assert sample(g, 'gateway_cluster_delivery_latency_seconds_bucket{le="+Inf"}') == n
            if n:
                assert 0 <= sample(g, "gateway_cluster_delivery_latency_seconds_sum") < 1
                assert sample(g, 'gateway_cluster_delivery_latency_seconds_bucket{le="1.0"}') == 1
        for g in nodes:
            text = metrics(g)
            assert f'gateway_cluster_redis_up{{url="{redis.url}"}} 1\n' in text
            assert "gateway_cluster_nodes 3\n" in text
            assert "gateway_cluster_dropped_total 0\n" in text
            assert "gateway_cluster_queue_depth 0\n" in text
        for ws in sockets:
            await ws.close()
    run(main())


def test_a_killed_node_is_lost_within_the_timeout(redis, gateway_factory):
    n0, n1, n2 = start_cluster(gateway_factory, redis, 3)
    n2.proc.send_signal(signal.SIGKILL)
    n2.proc.wait(5)
    killed = time.monotonic()
    n2.expected_exit = -signal.SIGKILL
    gone = {}

    def forgotten():
        for g in (n0, n1):
            if g.node not in gone and "n2" not in listed(g):
                gone[g.node] = time.monotonic() - killed
        return len(gone) == 2
    wait_until(forgotten, timeout=TIMEOUT + 3, interval=0.02, what="both survivors to drop n2")
    # Its key expires nodeTimeoutSeconds after its last heartbeat, which was before the kill; the
    # survivors read again just after the expiry. Slack: polling and the loops' 20 ms re-read.
    assert max(gone.values()) < TIMEOUT + 0.3, gone
    # Declared lost once for the whole cluster: by the survivor whose SREM took it out.
    wait_until(lambda: sum("cluster: node n2 lost" in g.log() for g in (n0, n1)) == 1, timeout=2,
               what="one survivor to log that n2 is lost")
    for g in (n0, n1):
        assert g.log().count("cluster: node n2 lost") <= 1
        assert set(listed(g)) == {"n0", "n1"}


def test_a_stopped_node_is_forgotten_at_once(redis, gateway_factory):
    n0, n1, n2 = start_cluster(gateway_factory, redis, 3)
    assert n2.stop(15) == 0
    exited = time.monotonic()
    gone = {}

    def forgotten():
        for g in (n0, n1):
            if g.node not in gone and "n2" not in listed(g):
                gone[g.node] = time.monotonic() - exited
        return len(gone) == 2
    wait_until(forgotten, timeout=TIMEOUT + 1, what="both survivors to drop n2")
    # Not the 2 s timeout: n2 took itself out before it exited; the others see it at their next read.
    assert max(gone.values()) < 1.0, gone
    assert "cluster: node n2 left the cluster" in n2.log()
    for g in (n0, n1):
        assert "node n2 lost" not in g.log()


def test_redis_outage_shows_degraded_and_heals(redis, gateway_factory):
    n0, n1 = start_cluster(gateway_factory, redis, 2)
    redis.stop()

    def degraded():
        doc = cluster(n0)
        return doc["redis"] == [{"url": redis.url, "state": "down"}] and doc["nodes"][0]["state"] == "degraded"
    wait_until(degraded, timeout=5, what="n0 to report Redis down and itself degraded")
    # The node still serves: ready, and local deliveries work.
    status, _, _ = n0.admin("GET", "/readyz", token=None)
    assert status == 200
    assert f'gateway_cluster_redis_up{{url="{redis.url}"}} 0\n' in metrics(n0)

    async def local():
        async with ws_connect(n0.url("/c")) as ws:
            assert await call(ws, {"cmd": "all", "id": 1, "data": 1}) == {"cmd": "all", "id": 1, "data": 1}
    run(local())
    # Once it cannot read the list for two beats, the other node is shown degraded too.
    wait_until(lambda: listed(n0).get("n1", {}).get("state") == "degraded", timeout=5,
               what="n0 to show n1 degraded while it cannot read the list")

    redis.start()   # same port, empty: the nodes list themselves again

    def healed():
        for g in (n0, n1):
            doc = cluster(g)
            if doc["redis"] != [{"url": redis.url, "state": "up"}]:
                return False
            if {n["id"]: n["state"] for n in doc["nodes"]} != {"n0": "up", "n1": "up"}:
                return False
        return True
    wait_until(healed, timeout=5, what="both nodes up and listing each other after Redis came back")
    assert f'gateway_cluster_redis_up{{url="{redis.url}"}} 1\n' in metrics(n0)
    for g in (n0, n1):
        assert "cluster: node n0 lost" not in g.log() and "cluster: node n1 lost" not in g.log()
