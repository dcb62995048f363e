"""Several gateway nodes on one Redis (DESIGN §8): deliveries reach every node's connections.

Each test starts its own `redis-server` on a free loopback port (never a system service) and two
gateway nodes with the same modules, under the engine of the run."""
import asyncio
import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from helpers import ADMIN_TOKEN, BufferedSock, call, free_port, recv_json, run, wait_until, ws_connect

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (apt-get install redis-server)")


class Redis:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False
        wait_until(up, timeout=10, what="redis-server answering PING")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def command(self, *args):
        """One command over a fresh connection; returns the raw bytes of its whole reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(encode_command(*args))
            return read_reply(BufferedSock(s))

    def client_list(self, kind="pubsub"):
        """`CLIENT LIST TYPE <kind>`: one {field: value} per connection."""
        reply = self.command("CLIENT", "LIST", "TYPE", kind)
        text = reply.partition(b"\r\n")[2].decode()
        return [dict(f.split("=", 1) for f in line.split()) for line in text.splitlines() if "=" in line]

    def subscribers(self, channel):
        """How many connections subscribe to `channel` (PUBSUB NUMSUB)."""
        reply = self.command("PUBSUB", "NUMSUB", channel)
        return int(reply.split(b"\r\n")[-2].lstrip(b":"))

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def encode_command(*args):
    """A command as a RESP array of bulk strings (str or bytes arguments)."""
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    return b"".join([b"*%d\r\n" % len(parts)] + [b"$%d\r\n%s\r\n" % (len(p), p) for p in parts])


def read_reply(f):
    """The raw bytes of one whole RESP reply read from `f` (a `BufferedSock`), nested arrays included."""
    line = f.readline()
    assert line.endswith(b"\r\n"), f"connection to Redis ended inside a reply: {line!r}"
    kind, n = line[:1], line[1:-2]
    if kind == b"$" and int(n) >= 0:
        return line + f.read(int(n) + 2)
    if kind == b"*" and int(n) > 0:
        return line + b"".join(read_reply(f) for _ in range(int(n)))
    return line


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path)
    yield r
    r.stop()


def cluster_config(redis, node, modules, admin_port=None, node_timeout=None):
    cfg = {"listen": "127.0.0.1:0", "modules": modules,
           "cluster": {"redis": redis.url, "node": node, "prefix": "t"}}
    if node_timeout:
        cfg["cluster"]["nodeTimeoutSeconds"] = node_timeout
    if admin_port:
        cfg["admin"] = {"listen": f"127.0.0.1:{admin_port}", "token": ADMIN_TOKEN}
    return cfg


FANOUT = {"path": "/c", "parser": "json",
          "routes": {"all": {"local": "echo", "deliver": "all"}, "others": {"local": "echo", "deliver": "others"}}}


def start_listed_nodes(gateway_factory, redis, module, names, node_timeout=2):
    """Nodes `names` with `module` and their own admin listeners, started and waited for until each
    lists every node in `GET /v1/cluster`."""
    nodes = []
    for name in names:
        admin_port = free_port()
        g = gateway_factory(config={
            "listen": "127.0.0.1:0", "modules": [module],
            "admin": {"listen": f"127.0.0.1:{admin_port}", "token": ADMIN_TOKEN},
            "cluster": {"redis": redis.url, "node": name, "prefix": "t", "nodeTimeoutSeconds": node_timeout}})
        g.admin_port = admin_port
        g.node = name
        nodes.append(g)
    ids = set(names)
    for g in nodes:
        wait_until(lambda g=g: {n["id"] for n in json.loads(g.admin("GET", "/v1/cluster")[2])["nodes"]} == ids,
                   timeout=10, what=f"{g.node} lists every node")
    return nodes


def admin_node(gateway_factory, redis, modules, node):
    """One cluster node with `modules` and its own admin listener, once its Redis publisher is up."""
    admin_port = free_port()
    g = gateway_factory(config={
        "listen": "127.0.0.1:0", "modules": modules,
        "admin": {"listen": f"127.0.0.1:{admin_port}", "token": ADMIN_TOKEN},
        "cluster": {"redis": redis.url, "node": node, "prefix": "t"}})
    g.admin_port = admin_port
    wait_until(lambda: "up (publisher)" in g.log(), timeout=10, what="Redis connected")
    return g


def wait_joined(g):
    """Waits until node `g` logged both of its Redis connections up."""
    wait_until(lambda: "up (subscriber)" in g.log() and "up (publisher)" in g.log(), timeout=10,
               what="the node connected to Redis")


def start_nodes(gateway_factory, redis, count=2, node_timeout=None):
    nodes = [gateway_factory(config=cluster_config(redis, f"node{i}", [FANOUT], node_timeout=node_timeout))
             for i in range(count)]
    for g in nodes:
        wait_joined(g)
    return nodes


def test_all_and_others_reach_every_node(redis, gateway_factory):
    a, b = start_nodes(gateway_factory, redis)

    async def main():
        sender = await ws_connect(a.url("/c"))
        local = await ws_connect(a.url("/c"))
        remote = [await ws_connect(b.url("/c")) for _ in range(3)]
        # "all": the sender gets its reply, everyone else on both nodes the push, exactly once.
        reply = await call(sender, {"cmd": "all", "id": 1, "data": {"n": 1}})
        assert reply == {"cmd": "all", "id": 1, "data": {"n": 1}}
        for ws in [local] + remote:
            assert await recv_json(ws) == {"cmd": "all", "data": {"n": 1}}
        # "others": everyone but the sender, on both nodes; the sender gets nothing.
        await sender.send(json.dumps({"cmd": "others", "data": 2}))
        for ws in [local] + remote:
            assert await recv_json(ws) == {"cmd": "others", "data": 2}
        # Exactly once: a sentinel from node b arrives next everywhere, nothing in between.
        await remote[0].send(json.dumps({"cmd": "others", "data": "end"}))
        for ws in [sender, local] + remote[1:]:
            assert await recv_json(ws) == {"cmd": "others", "data": "end"}
        for ws in [sender, local] + remote:
            await ws.close()
    run(main())


def _rooms_module(backend):
    def respond(*headers, body):
        q = [("h", h) for h in headers] + [("body", body)]
        return backend.url("/respond?" + urllib.parse.urlencode(q))
    return {"path": "/c", "parser": "json", "routes": {
        "join.r1": respond("Gateway-Join: r1", body='{"joined":true}'),
        "join.r1r2": respond("Gateway-Join: r1, r2", body='{"joined":true}'),
        "as.alice": respond("Gateway-Set-User: alice", body='{"ok":true}'),
        "to.r1": {"local": "echo", "deliver": "room:r1"},
        "to.myrooms": {"local": "echo", "deliver": "room"},
        "to.alice": respond("Gateway-Deliver: user:alice", body='{"for":"alice"}'),
        "ping": {"local": "echo"},
    }}


def test_rooms_users_and_admin_publish_across_nodes(redis, gateway_factory, backend):
    admin_port = free_port()
    a = gateway_factory(config=cluster_config(redis, "na", [_rooms_module(backend)], admin_port=admin_port))
    a.admin_port = admin_port
    b = gateway_factory(config=cluster_config(redis, "nb", [_rooms_module(backend)]))
    for g in (a, b):
        wait_joined(g)

    async def main():
        sender = await ws_connect(a.url("/c"))
        in_both = await ws_connect(b.url("/c"))      # r1 and r2: one copy of a push to both
        in_r1 = await ws_connect(b.url("/c"))
        outside = await ws_connect(b.url("/c"))
        alice = await ws_connect(b.url("/c"))
        # Before anyone joins, no node subscribes to the room's channel.
        assert redis.subscribers("t:room:r1") == 0
        for ws, cmd in ((sender, "join.r1r2"), (in_both, "join.r1r2"), (in_r1, "join.r1"), (alice, "as.alice")):
            await call(ws, {"cmd": cmd, "data": {}})
        # Each node with members subscribes once, however many members it has.
        for channel, nodes in (("t:room:r1", 2), ("t:room:r2", 2), ("t:user:alice", 1)):
            wait_until(lambda c=channel, n=nodes: redis.subscribers(c) == n, timeout=5,
                       what=f"{nodes} node(s) subscribed to {channel}")
        # room:r1 from node a reaches r1's members on node b, not the others.
        assert (await call(sender, {"cmd": "to.r1", "id": 1, "data": 1}))["data"] == 1
        for ws in (in_both, in_r1):
            assert await recv_json(ws) == {"cmd": "to.r1", "data": 1}
        # "room" (every room of the sender): a member of both rooms gets it once.
        assert (await call(sender, {"cmd": "to.myrooms", "id": 2, "data": 2}))["data"] == 2
        for ws in (in_both, in_r1):
            assert await recv_json(ws) == {"cmd": "to.myrooms", "data": 2}
        # Gateway-Deliver: user:alice from node a reaches alice on node b.
        await sender.send(json.dumps({"cmd": "to.alice", "data": {}}))
        assert await recv_json(alice) == {"cmd": "to.alice", "data": {"for": "alice"}}
        # The admin API of node a publishes to everyone on both nodes; the count is node a's.
        status, _, body = a.admin("POST", "/v1/publish", {"to": {"room": "r2"}, "cmd": "news", "data": {"n": 3}})
        assert status == 200 and json.loads(body) == {"delivered": 1, "cluster": True}, body
        assert await recv_json(sender) == {"cmd": "news", "data": {"n": 3}}
        assert await recv_json(in_both) == {"cmd": "news", "data": {"n": 3}}
        # Nothing else arrived anywhere: each one's next frame is its own sentinel reply.
        for i, ws in enumerate((sender, in_both, in_r1, outside, alice)):
            assert await call(ws, {"cmd": "ping", "id": f"s{i}", "data": i}) == {"cmd": "ping", "id": f"s{i}", "data": i}
        for ws in (sender, in_both, in_r1, outside, alice):
            await ws.close()
    run(main())
    # The last member gone, every node unsubscribes.
    for channel in ("t:room:r1", "t:room:r2", "t:user:alice"):
        wait_until(lambda c=channel: redis.subscribers(c) == 0, timeout=5, what=f"no subscriber left on {channel}")


def test_delivery_heals_after_a_redis_restart(redis, gateway_factory):
    """Redis goes away and comes back on the same port: local delivery goes on meanwhile, the
    publishes made during the outage reach the other node once it is subscribed again (in order,
    once each), and cross-node delivery is back within 2 s of Redis answering again (issue 9,
    point 5)."""
    a, b = start_nodes(gateway_factory, redis, node_timeout=2)
    # Each node must know the other before the outage: a queue is held for the nodes it knows.
    wait_until(lambda: "node node1 joined" in a.log() and "node node0 joined" in b.log(), timeout=10,
               what="both nodes saw each other's heartbeat")

    async def main():
        sender = await ws_connect(a.url("/c"))
        local = await ws_connect(a.url("/c"))
        remote = await ws_connect(b.url("/c"))
        await sender.send(json.dumps({"cmd": "others", "data": "before"}))
        assert await recv_json(local) == {"cmd": "others", "data": "before"}
        assert await recv_json(remote) == {"cmd": "others", "data": "before"}

        redis.stop()
        wait_until(lambda: "down (subscriber)" in b.log() and "down (publisher)" in a.log(), timeout=5,
                   what="both nodes saw Redis go")
        # Redis is down: node a still delivers to its own connections, and queues for the others.
        during = [f"during-{i}" for i in range(20)]
        for d in during:
            await sender.send(json.dumps({"cmd": "others", "data": d}))
            assert await recv_json(local) == {"cmd": "others", "data": d}

        redis.start()
        back = time.monotonic()
        healed = None
        got = []
        n = 0
        while healed is None and time.monotonic() - back < 5:
            n += 1
            await sender.send(json.dumps({"cmd": "others", "data": f"probe-{n}"}))
            assert (await recv_json(local))["data"] == f"probe-{n}"
            try:
                while True:
                    m = await recv_json(remote, timeout=0.05)
                    got.append(m["data"])
                    if m["data"].startswith("probe-"):
                        healed = time.monotonic() - back
                        break
            except (asyncio.TimeoutError, TimeoutError):
                pass
        assert healed is not None and healed < 2.0, f"cross-node delivery back after {healed} s"
        print(f"cross-node delivery healed {healed * 1000:.0f} ms after Redis answered again")
        # What waited went first, in order and once each; then the probes, in order, from the
        # first one sent after Redis was back that found node b subscribed.
        assert got[:len(during)] == during, got
        probes = [int(x.split("-")[1]) for x in got[len(during):]]
        assert probes == list(range(probes[0], probes[0] + len(probes))), got
        assert "sent" in a.log() and "every node subscribed again" in a.log(), "the held queue was released"
        for ws in (sender, local, remote):
            await ws.close()
    run(main())


def test_connection_ids_name_their_node_and_deliveries_go_straight_there(redis, gateway_factory, backend):
    admin_port = free_port()
    module = {"path": "/c", "parser": "json", "routes": {
        "headers": backend.url("/headers"), "ping": {"local": "echo"}}}
    a = gateway_factory(config=cluster_config(redis, "na", [module], admin_port=admin_port))
    a.admin_port = admin_port
    b = gateway_factory(config=cluster_config(redis, "nb", [module]))
    for g in (a, b):
        wait_joined(g)

    async def conn_id(ws):
        return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]

    async def main():
        on_a = await ws_connect(a.url("/c"))
        target = await ws_connect(b.url("/c"))
        bystander = await ws_connect(b.url("/c"))
        ida, idb = await conn_id(on_a), await conn_id(target)
        assert ida.startswith("na.") and idb.startswith("nb.") and len(idb) == 3 + 26, (ida, idb)
        assert redis.subscribers("t:node:nb") == 1
        # Published on node a to a connection of node b (and one of a's): each gets it once.
        status, _, body = a.admin("POST", "/v1/publish", {"to": {"connections": [idb, ida]}, "cmd": "dm", "data": 1})
        assert status == 200 and json.loads(body) == {"delivered": 1, "cluster": True}, body
        assert await recv_json(target) == {"cmd": "dm", "data": 1}
        assert await recv_json(on_a) == {"cmd": "dm", "data": 1}
        # `except` names a connection of another node.
        a.admin("POST", "/v1/publish", {"to": {"all": True}, "except": [idb], "cmd": "all", "data": 2})
        for ws in (on_a, bystander):
            assert await recv_json(ws) == {"cmd": "all", "data": 2}
        for i, ws in enumerate((on_a, target, bystander)):
            assert await call(ws, {"cmd": "ping", "id": i, "data": i}) == {"cmd": "ping", "id": i, "data": i}
        for ws in (on_a, target, bystander):
            await ws.close()
    run(main())



def test_channels_are_sharded_over_several_redis(gateway_factory, backend, tmp_path):
    """Two Redis instances: each channel lives on one of them, the same one for every node, rooms
    spread over both, and deliveries work whichever instance carries them."""
    shards = [Redis(tmp_path), Redis(tmp_path)]
    try:
        rooms = [f"room{i}" for i in range(12)]
        routes = {f"join.{r}": backend.url("/respond?" + urllib.parse.urlencode(
            [("h", f"Gateway-Join: {r}"), ("body", '{"joined":true}')])) for r in rooms}
        routes.update({f"to.{r}": {"local": "echo", "deliver": f"room:{r}"} for r in rooms})
        module = {"path": "/c", "parser": "json", "routes": routes}
        nodes = [gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module],
                                         "cluster": {"redis": [r.url for r in shards], "node": n, "prefix": "t"}})
                 for n in ("sa", "sb")]
        for g in nodes:
            wait_until(lambda g=g: g.log().count("up (subscriber)") == 2 and g.log().count("up (publisher)") == 2,
                       timeout=10, what="both Redis instances up")

        def layout(channel):
            return [r.subscribers(channel) for r in shards]

        # The all channel: both nodes on the same instance.
        assert sorted(layout("t:all")) == [0, 2], layout("t:all")

        async def main():
            sender = await ws_connect(nodes[0].url("/c"))
            members = {}
            for r in rooms:
                members[r] = await ws_connect(nodes[1].url("/c"))
                assert (await call(members[r], {"cmd": f"join.{r}", "data": {}}))["data"] == {"joined": True}
            used = set()
            for r in rooms:
                wait_until(lambda r=r: sum(layout(f"t:room:{r}")) == 1, timeout=5, what=f"node sb subscribed to {r}")
                used.add(layout(f"t:room:{r}").index(1))
            assert used == {0, 1}, "twelve rooms spread over both instances"
            for i, r in enumerate(rooms):
                # The sender is in no room: it gets no reply, only the members get the push.
                await sender.send(json.dumps({"cmd": f"to.{r}", "data": i}))
                assert await recv_json(members[r]) == {"cmd": f"to.{r}", "data": i}
            for ws in [sender] + list(members.values()):
                await ws.close()
        run(main())
    finally:
        for r in shards:
            r.stop()


def test_admin_endpoints_act_on_a_connection_of_another_node(redis, gateway_factory, backend):
    admin_port = free_port()
    module = {"path": "/c", "parser": "json", "routes": {"headers": backend.url("/headers"), "ping": {"local": "echo"}}}
    a = gateway_factory(config=cluster_config(redis, "na", [module], admin_port=admin_port))
    a.admin_port = admin_port
    b = gateway_factory(config=cluster_config(redis, "nb", [module]))
    for g in (a, b):
        wait_joined(g)

    async def main():
        ws = await ws_connect(b.url("/c"))
        victim = await ws_connect(b.url("/c"))
        cid = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
        vid = (await call(victim, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
        # Rooms: node a joins node b's connection to r1; the answer is the session's rooms.
        status, _, body = a.admin("POST", f"/v1/connections/{cid}/rooms", {"join": ["r1"]})
        assert status == 200 and json.loads(body) == {"rooms": ["r1"]}, body
        wait_until(lambda: redis.subscribers("t:room:r1") == 1, timeout=5, what="node b subscribed to r1")
        status, _, body = a.admin("POST", "/v1/publish", {"to": {"room": "r1"}, "cmd": "news", "data": 1})
        assert status == 200, body
        assert await recv_json(ws) == {"cmd": "news", "data": 1}
        # Close: node a closes node b's other connection with the code and reason it asks for.
        status, _, body = a.admin("POST", f"/v1/connections/{vid}/close", {"code": 4000, "reason": "kicked"})
        assert status == 200 and json.loads(body) == {"closed": True}, body
        await asyncio.wait_for(victim.wait_closed(), 5)
        assert victim.close_code == 4000 and victim.close_reason == "kicked"
        # A session node b does not have (any more): 404, from node a.
        wait_until(lambda: a.admin("POST", f"/v1/connections/{vid}/close", {})[0] == 404, timeout=5,
                   what="the closed session forgotten")
        status, _, _ = a.admin("POST", "/v1/connections/nb." + "0" * 26 + "/rooms", {"join": ["x"]})
        assert status == 404
        assert await call(ws, {"cmd": "ping", "id": 1, "data": 1}) == {"cmd": "ping", "id": 1, "data": 1}
        await ws.close()
    run(main())


def test_sighup_keeps_the_cluster_settings(redis, gateway_factory):
    """A reload cannot move a running node to another Redis or prefix: the change is logged and
    ignored, and the node keeps delivering across the cluster."""
    a, b = start_nodes(gateway_factory, redis)
    with open(a.config_path) as f:
        cfg = json.load(f)
    cfg["cluster"]["prefix"] = "other"
    with open(a.config_path, "w") as f:
        json.dump(cfg, f)
    a.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "cluster changes need a restart; ignored" in a.log(), timeout=5, what="the reload logged")

    async def main():
        sender = await ws_connect(a.url("/c"))
        remote = await ws_connect(b.url("/c"))
        await sender.send(json.dumps({"cmd": "others", "data": "after reload"}))
        assert await recv_json(remote) == {"cmd": "others", "data": "after reload"}
        for ws in (sender, remote):
            await ws.close()
    run(main())
