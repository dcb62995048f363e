"""Traffic across three nodes on one Redis (DESIGN §8, issue 9 "Tests"): the order of one publisher's
1,000 messages, a 2,000-message burst, a node that joins late, a subscriber connection Redis must
never drop for being slow, every delivery mode with exact recipients, and a node killed mid-stream.

Each test starts its own `redis-server` (the `redis` fixture of test_cluster.py) and three gateway
nodes with two loops each (so deliveries also cross loops inside a node), under the engine of the
run. Counts are exact: every member's frames are compared with the whole expected list; the last
one is a sentinel sent after everything else by the same publisher (one publisher's deliveries keep
their order, so it comes last), and a ping round trip after it must be the next frame (nothing more,
no duplicate, was on its way).

Every test asks for `redis` before `gateway_factory`, so that the nodes are stopped (and leave the
cluster) while Redis still runs: the other way round each node waits its 1 s for Redis at exit."""
import asyncio
import http.client
import json
import signal
import socket
import threading
import time
import urllib.parse

import pytest

from helpers import (ADMIN_TOKEN, OP_TEXT, BufferedSock, call, encode_frame, free_port, recv_json, run, wait_until,
                     ws_connect)
from test_cluster import REDIS, cluster_config, encode_command, read_reply, redis, wait_joined  # noqa: F401

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (apt-get install redis-server)")

ROOM = "r"
CHANNEL = f"t:room:{ROOM}"


def _respond(backend, *headers, body='{"ok":true}'):
    return backend.url("/respond?" + urllib.parse.urlencode([("h", h) for h in headers] + [("body", body)]))


def _module(backend):
    return {"path": "/c", "parser": "json", "routes": {
        "join": _respond(backend, f"Gateway-Join: {ROOM}", body='{"joined":true}'),
        "join.r1": _respond(backend, "Gateway-Join: r1"),
        "join.r2": _respond(backend, "Gateway-Join: r2"),
        "join.r1r2": _respond(backend, "Gateway-Join: r1, r2"),
        "leave.r1": _respond(backend, "Gateway-Leave: r1"),
        "as.alice": _respond(backend, "Gateway-Set-User: alice"),
        "send.room": {"url": backend.url("/echo"), "deliver": "room"},
        "send.others": {"url": backend.url("/echo"), "deliver": "others"},
        "burst": {"local": "echo", "deliver": "room"},
        "to.room": {"local": "echo", "deliver": f"room:{ROOM}"},
        "dyn": backend.url("/dynamic"),
        "headers": backend.url("/headers"),
        "ping": {"local": "echo"},
    }}


def start_node(gateway_factory, backend, redis, name, limits=None, **cluster):
    admin_port = free_port()
    cfg = cluster_config(redis, name, [_module(backend)], admin_port=admin_port)
    cfg["io"] = {"loops": 2}
    cfg["cluster"].update(cluster)
    if limits:
        cfg["limits"] = limits
    g = gateway_factory(config=cfg)
    g.admin_port = admin_port
    g.node = name
    return g


def start_nodes(gateway_factory, backend, redis, count=3, limits=None, **cluster):
    nodes = [start_node(gateway_factory, backend, redis, f"n{i}", limits, **cluster) for i in range(count)]
    for g in nodes:
        wait_joined(g)
    return nodes


class Admin:
    """One keep-alive connection to a node's admin API: one publisher, its requests one after another."""

    def __init__(self, g):
        self.c = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=10)

    def publish(self, body):
        self.c.request("POST", "/v1/publish", body=json.dumps(body),
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
        r = self.c.getresponse()
        data = r.read()
        assert r.status == 200, (r.status, data)
        return json.loads(data)

    def close(self):
        self.c.close()


async def join(ws, cmd="join"):
    assert (await call(ws, {"cmd": cmd, "data": {}}))["data"] in ({"joined": True}, {"ok": True})


async def members_on(nodes, per_node):
    """`per_node` connections on each node, all joined to ROOM: [(node name, ws)]."""
    out = []
    for g in nodes:
        for _ in range(per_node):
            ws = await ws_connect(g.url("/c"))
            await join(ws)
            out.append((g.node, ws))
    return out


def wait_subscribed(redis, nodes, channel=CHANNEL):
    """Waits until `nodes` connections subscribe to `channel`: from then on a publish reaches them."""
    wait_until(lambda: redis.subscribers(channel) == nodes, timeout=5, what=f"{nodes} subscriber(s) of {channel}")


async def in_thread(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def collect(ws, last, timeout=20, progress=None):
    """Every frame up to the sentinel `last` (not included); fails when none comes for `timeout` s.
    `progress` (a one-element list) is raised to the count taken so far."""
    got = []
    while True:
        if progress is not None:
            progress[0] = max(progress[0], len(got))
        try:
            m = await recv_json(ws, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            tail = json.dumps(got[-1])[:200] if got else None
            raise AssertionError(f"nothing for {timeout} s after {len(got)} frame(s) (last: {tail}); "
                                 f"the sentinel {json.dumps(last)[:200]} never came") from None
        if m == last:
            return got
        got.append(m)


async def collect_around_reply(ws, reply_id, last, timeout=30):
    """Like `collect`, leaving out the reply with id `reply_id` (which must come, with its data)."""
    got = await collect(ws, last, timeout)
    replies = [m for m in got if m.get("id") == reply_id]
    assert len(replies) == 1 and replies[0]["data"] in ({"joined": True}, {"ok": True}), replies
    return [m for m in got if m.get("id") != reply_id]


def check(got, want, who):
    """`got == want`, with a readable account (counts, first difference, duplicates, missing) when not."""
    if got == want:
        return
    keys = [json.dumps(m, sort_keys=True) for m in got]
    wanted = [json.dumps(m, sort_keys=True) for m in want]
    first = next((i for i, (a, b) in enumerate(zip(keys, wanted)) if a != b), min(len(keys), len(wanted)))
    dups = len(keys) - len(set(keys))
    missing = len(set(wanted) - set(keys))
    raise AssertionError(f"{who}: {len(got)} frames, expected {len(want)}; first difference at {first} "
                         f"(got {keys[first:first + 3]}, expected {wanted[first:first + 3]}); "
                         f"{dups} duplicate(s), {missing} missing")


async def nothing_pending(ws, tag):
    """The next frame is the reply to a fresh round trip: nothing else was on its way to `ws`."""
    reply = await call(ws, {"cmd": "ping", "id": tag, "data": tag})
    assert reply == {"cmd": "ping", "id": tag, "data": tag}, f"{tag}: unexpected frame {reply}"


def cluster_counts(g):
    return {k: int(g.metric(f"gateway_cluster_{k}_total")) for k in ("published", "received", "dropped")}


def assert_published_once(nodes, n):
    """`n` deliveries started on the first node: one PUBLISH each (not one per recipient), each
    received once by every other node, none dropped."""
    assert cluster_counts(nodes[0]) == {"published": n, "received": 0, "dropped": 0}
    for g in nodes[1:]:
        assert cluster_counts(g) == {"published": 0, "received": n, "dropped": 0}, g.node


# ----------------------------------------------------------------------------------------------
# 1. order


N_ORDER = 1000


def test_admin_publishes_reach_every_node_in_publish_order(redis, gateway_factory, backend):
    """1,000 `POST /v1/publish` from one publisher on n0 to a room with two members on each node:
    every member gets all 1,000, in publish order, once."""
    nodes = start_nodes(gateway_factory, backend, redis)
    n0 = nodes[0]

    def publish_all():
        admin = Admin(n0)
        try:
            answers = [admin.publish({"to": {"room": ROOM}, "cmd": "seq", "data": i}) for i in range(N_ORDER)]
            admin.publish({"to": {"room": ROOM}, "cmd": "seq", "data": "end"})
            return answers
        finally:
            admin.close()

    async def main():
        members = await members_on(nodes, 2)
        wait_subscribed(redis, 3)
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "seq", "data": "end"})) for _, ws in members]
        started = time.monotonic()
        answers = await in_thread(publish_all)
        got = await asyncio.gather(*readers)
        print(f"{N_ORDER} publishes delivered on 3 nodes in {time.monotonic() - started:.2f} s")
        # The count is n0's own recipients (DESIGN §8).
        assert all(a == {"delivered": 2, "cluster": True} for a in answers), answers[:5]
        want = [{"cmd": "seq", "data": i} for i in range(N_ORDER)]
        for i, ((node, ws), frames) in enumerate(zip(members, got)):
            check(frames, want, f"member {i} on {node}")
            await nothing_pending(ws, f"m{i}")
        for _, ws in members:
            await ws.close()
    run(main(), timeout=90)
    assert_published_once(nodes, N_ORDER + 1)


@pytest.mark.parametrize("deliver", ["room", "others"])
def test_one_clients_messages_reach_the_other_nodes_in_send_order(redis, gateway_factory, backend, deliver):
    """One client on n0 sends 1,000 messages at once through a backend route (`/echo`, calls in
    flight together, so they can finish out of order) with `deliver: room` / `others`: every other
    member, on every node, gets them in the sender's order, once; with `room` the sender gets its
    replies in order too."""
    nodes = start_nodes(gateway_factory, backend, redis)
    cmd = f"send.{deliver}"

    async def main():
        members = await members_on(nodes, 2)
        wait_subscribed(redis, 3)
        (_, sender), others = members[0], members[1:]
        readers = [asyncio.ensure_future(collect(ws, {"cmd": cmd, "data": "end"})) for _, ws in others]
        if deliver == "room":
            readers.append(asyncio.ensure_future(collect(sender, {"cmd": cmd, "id": "end", "data": "end"})))
        started = time.monotonic()
        for i in range(N_ORDER):
            await sender.send(json.dumps({"cmd": cmd, "id": i, "data": {"n": i}}))
        await sender.send(json.dumps({"cmd": cmd, "id": "end", "data": "end"}))
        got = await asyncio.gather(*readers)
        print(f"{N_ORDER} messages through {cmd} delivered on 3 nodes in {time.monotonic() - started:.2f} s")
        want = [{"cmd": cmd, "data": {"n": i}} for i in range(N_ORDER)]
        for i, ((node, ws), frames) in enumerate(zip(others, got)):
            check(frames, want, f"member {i + 1} on {node}")
            await nothing_pending(ws, f"m{i + 1}")
        if deliver == "room":
            check(got[-1], [{"cmd": cmd, "id": i, "data": {"n": i}} for i in range(N_ORDER)], "the sender's replies")
        await nothing_pending(sender, "sender")
        for _, ws in members:
            await ws.close()
    run(main(), timeout=90)
    assert_published_once(nodes, N_ORDER + 1)


# ----------------------------------------------------------------------------------------------
# 2. burst


N_BURST = 2000


def test_a_burst_of_2000_reaches_every_member_on_every_node(redis, gateway_factory, backend):
    """2,000 messages written back to back by one client on n0 (`deliver: room`, answered inside the
    gateway, so nothing paces them) to a room with three members on each node: exact counts and
    order everywhere, no connection lost, nothing dropped."""
    # The default bucket (messageBurst 2000) would answer the last few with rate_limited.
    nodes = start_nodes(gateway_factory, backend, redis, limits={"messageBurst": 10000})

    async def main():
        members = await members_on(nodes, 3)
        wait_subscribed(redis, 3)
        for g in nodes:
            assert g.metric("gateway_websocket_connections") == 3
        opened = [g.metric("gateway_websockets_opened_total") for g in nodes]
        (_, sender), others = members[0], members[1:]
        frames = [json.dumps({"cmd": "burst", "id": i, "data": {"i": i, "pad": "x" * 64}}) for i in range(N_BURST)]
        frames.append(json.dumps({"cmd": "burst", "id": "end", "data": "end"}))
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "burst", "data": "end"})) for _, ws in others]
        readers.append(asyncio.ensure_future(collect(sender, {"cmd": "burst", "id": "end", "data": "end"})))
        started = time.monotonic()
        # One write of every frame (masked client text frames, by hand): the gateway gets them as
        # fast as the socket carries them, not paced by the library.
        sender.transport.write(b"".join(encode_frame(OP_TEXT, f.encode()) for f in frames))
        got = await asyncio.gather(*readers)
        took = time.monotonic() - started
        print(f"burst of {N_BURST} delivered to {len(members)} members on 3 nodes in {took:.2f} s")
        want = [{"cmd": "burst", "data": {"i": i, "pad": "x" * 64}} for i in range(N_BURST)]
        for i, ((node, ws), frames_got) in enumerate(zip(others, got)):
            check(frames_got, want, f"member {i + 1} on {node}")
        check(got[-1], [{"cmd": "burst", "id": i, "data": {"i": i, "pad": "x" * 64}} for i in range(N_BURST)],
              "the sender's replies")
        for i, (_, ws) in enumerate(members):
            await nothing_pending(ws, f"m{i}")
        # Nobody was disconnected (or reconnected): the same three WebSockets on each node.
        for g, before in zip(nodes, opened):
            assert g.metric("gateway_websocket_connections") == 3, g.node
            assert g.metric("gateway_websockets_opened_total") == before, g.node
        for _, ws in members:
            await ws.close()
    run(main(), timeout=90)
    assert_published_once(nodes, N_BURST + 1)


# ----------------------------------------------------------------------------------------------
# 3. a node that joins late


class Publisher(threading.Thread):
    """Publishes `{"cmd": "seq", "data": "<tag>-<n>"}` to ROOM from one admin connection, one after
    another, until `stop()`; `answered` counts the publishes whose answer came back."""

    def __init__(self, g, tag):
        super().__init__(daemon=True)
        self.g, self.tag = g, tag
        self.answered = 0
        self.error = None
        self._halt = threading.Event()

    def frame(self, n):
        return {"cmd": "seq", "data": f"{self.tag}-{n}"}

    def run(self):
        admin = Admin(self.g)
        try:
            while not self._halt.is_set():
                admin.publish({"to": {"room": ROOM}, **self.frame(self.answered)})
                self.answered += 1
        except Exception as e:  # reported by stop()
            self.error = e
        finally:
            admin.close()

    def wait_for(self, n, timeout=10):
        wait_until(lambda: self.answered >= n or self.error, timeout=timeout, what=f"{n} publishes answered")
        assert self.error is None, self.error

    def stop(self):
        self._halt.set()
        self.join(10)
        assert self.error is None, self.error
        return self.answered


def test_a_node_that_joins_late_gets_only_what_was_published_after(redis, gateway_factory, backend):
    """n0 and n1 have members; 300 messages go out; then n2 starts and its members join while one
    publisher on n0 keeps publishing. n2's members get no old message, and of the new ones a
    contiguous run, in order, once: nothing answered before their join was sent (but the last,
    whose PUBLISH may leave in the same loop turn as its answer), everything sent after Redis
    showed n2 subscribed. n0's and n1's members get everything."""
    n0, n1 = start_nodes(gateway_factory, backend, redis, count=2)

    def publish(tag, count):
        admin = Admin(n0)
        try:
            for i in range(count):
                admin.publish({"to": {"room": ROOM}, "cmd": "seq", "data": f"{tag}-{i}"})
            admin.publish({"to": {"room": ROOM}, "cmd": "seq", "data": f"{tag}-end"})
        finally:
            admin.close()

    async def main():
        early = await members_on([n0, n1], 2)
        wait_subscribed(redis, 2)
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "seq", "data": "old-end"})) for _, ws in early]
        await in_thread(publish, "old", 300)
        old = [{"cmd": "seq", "data": f"old-{i}"} for i in range(300)]
        for i, frames in enumerate(await asyncio.gather(*readers)):
            check(frames, old, f"early member {i}")

        n2 = await in_thread(start_node, gateway_factory, backend, redis, "n2")
        await in_thread(wait_joined, n2)
        late = [await ws_connect(n2.url("/c")) for _ in range(2)]
        pub = Publisher(n0, "new")
        pub.start()
        everyone = [ws for _, ws in early] + late
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "seq", "data": "new-end"})) for _, ws in early]
        await in_thread(pub.wait_for, 50)
        before = pub.answered          # answered before the first join was sent
        for ws in late:
            # Pushes may come before the join's reply (they are not ordered against replies).
            await ws.send(json.dumps({"cmd": "join", "id": "join", "data": {}}))
            readers.append(asyncio.ensure_future(collect_around_reply(ws, "join", {"cmd": "seq", "data": "new-end"})))
        await in_thread(wait_subscribed, redis, 3)
        confirmed = pub.answered       # every publish sent from here on reaches n2
        await in_thread(pub.wait_for, confirmed + 100)
        total = await in_thread(pub.stop)
        await in_thread(publish, "new", 0)   # the sentinel, from the same node after the last one
        got = await asyncio.gather(*readers)
        new = [pub.frame(n) for n in range(total)]
        print(f"n2 joined after {before} of {total} new publishes; Redis showed it subscribed after {confirmed}")
        for i, frames in enumerate(got[:len(early)]):
            check(frames, new, f"early member {i}")
        for i, frames in enumerate(got[len(early):]):
            assert not [f for f in frames if f["data"].startswith("old-")], f"late member {i} got old messages"
            first = int(frames[0]["data"].split("-")[1]) if frames else total
            assert before - 1 <= first <= confirmed + 1, (f"late member {i}: first new message {first}, joined "
                                                          f"after {before}, subscribed after {confirmed}")
            check(frames, new[first:], f"late member {i}")
        for i, ws in enumerate(everyone):
            await nothing_pending(ws, f"m{i}")
            await ws.close()
    run(main(), timeout=90)


# ----------------------------------------------------------------------------------------------
# 4. a subscriber connection Redis must not drop


BIG = 256 * 1024
N_BIG = 64     # 16 MiB in all, through one room channel
WINDOW = 24    # messages on their way at most (6 MiB)


def test_redis_never_drops_the_subscriber_connection_for_being_slow(redis, gateway_factory, backend):
    """Redis closes a pub/sub client whose output buffer passes `client-output-buffer-limit pubsub`
    (here 1mb hard, 256kb for 5 s). 16 MiB of 256 KiB messages from a client of n0 to a room with
    a member on n1 and on n2: a subscriber of the same channel that never reads is dropped (so the
    burst is big enough), the gateways' subscriber connections are the same ones afterwards, and
    every message arrived.

    The client keeps at most WINDOW messages (6 MiB) on their way, counted to the slower member:
    far above the 1 MB limit, so a node that stalled reading Redis would still be dropped, but
    below the 8 MiB a node's publisher connection holds before it refuses publishes (even while
    Redis is up), which a free-running 16 MiB burst from one node can reach on a busy machine."""
    assert redis.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 256kb 5") == b"+OK\r\n"
    # Members read 16 MiB each: a queue large enough that none is cut off as a slow consumer.
    nodes = start_nodes(gateway_factory, backend, redis, limits={"sendQueueBytes": 64 << 20})

    async def main():
        # The sender is in no room: it gets nothing back, and n0 has no member.
        sender = await ws_connect(nodes[0].url("/c"))
        members = await members_on(nodes[1:], 1)
        wait_subscribed(redis, 2)
        # The control: subscribed to the same channel, with a small receive buffer, never reading.
        control = socket.socket()
        control.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        control.connect(("127.0.0.1", redis.port))
        control.sendall(encode_command("SUBSCRIBE", CHANNEL))
        assert read_reply(BufferedSock(control)).startswith(b"*3\r\n$9\r\nsubscribe\r\n")
        control_addr = "127.0.0.1:%d" % control.getsockname()[1]
        wait_subscribed(redis, 3)
        before = {c["id"]: c["addr"] for c in redis.client_list() if c["addr"] != control_addr}
        assert len(before) == 3, redis.client_list()   # every node's subscriber, n0's too
        control_id = next(c["id"] for c in redis.client_list() if c["addr"] == control_addr)

        # Samples Redis' output buffer for the gateways' subscribers while the burst runs.
        peak = {}
        done = threading.Event()

        def sample():
            while not done.is_set():
                for c in redis.client_list():
                    if c["id"] in before:
                        peak[c["id"]] = max(peak.get(c["id"], 0), int(c["omem"]))
                time.sleep(0.005)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        end = {"cmd": "to.room", "data": "end"}
        progress = [[0] for _ in members]
        readers = [asyncio.ensure_future(collect(ws, end, progress=p)) for (_, ws), p in zip(members, progress)]
        started = time.monotonic()
        pad = "x" * BIG
        try:
            for i in range(N_BIG):
                while min(p[0] for p in progress) < i - WINDOW and not any(r.done() for r in readers):
                    await asyncio.sleep(0.001)
                await sender.send(json.dumps({"cmd": "to.room", "data": {"i": i, "pad": pad}}))
            await sender.send(json.dumps({"cmd": "to.room", "data": "end"}))
            got = await asyncio.gather(*readers)
        except AssertionError as e:
            now = {c["id"]: c["addr"] for c in redis.client_list()}
            raise AssertionError(f"{e}; the gateways' subscribers were {before}, are {now}") from None
        finally:
            done.set()
            sampler.join(5)
        took = time.monotonic() - started

        def summary(frames):
            return [(f["cmd"], f["data"]["i"], len(f["data"]["pad"])) for f in frames]
        for (node, _), frames in zip(members, got):
            check(summary(frames), [("to.room", i, BIG) for i in range(N_BIG)], f"member on {node}")
        for i, ws in enumerate([sender] + [ws for _, ws in members]):
            await nothing_pending(ws, f"c{i}")
        print(f"{N_BIG * BIG >> 20} MiB through the room in {took:.2f} s; peak Redis output buffer of the "
              f"gateways' subscribers: {sorted(peak.values())} bytes")

        # The burst was enough to get a subscriber dropped: the one that did not read is gone...
        after = {c["id"]: c["addr"] for c in redis.client_list()}
        assert control_id not in after, "the non-reading subscriber was not dropped: the burst proves nothing"
        # ...and the gateways' are the very same connections.
        assert after == before, (before, after)
        control.close()
        for ws in [sender] + [ws for _, ws in members]:
            await ws.close()
    run(main(), timeout=120)
    for g in nodes:
        log = g.log()
        assert log.count("up (subscriber)") == 1 and "down (subscriber)" not in log, g.node
    assert_published_once(nodes, N_BIG + 1)


# ----------------------------------------------------------------------------------------------
# every delivery mode, exact recipients


def test_every_delivery_mode_reaches_exactly_its_recipients_on_three_nodes(redis, gateway_factory, backend):
    """Two connections per node in different rooms and users. From a client of n0 every
    `Gateway-Deliver` target, then from n1's admin API every publish target (with `except`): each
    connection gets exactly the deliveries meant for it, in order, the sender the reply form."""
    nodes = start_nodes(gateway_factory, backend, redis)
    # who: (node, what it joins) — a0 is the sender.
    layout = {"a0": (0, ["join.r1", "as.alice"]), "b0": (0, []), "a1": (1, ["join.r1r2"]),
              "b1": (1, ["as.alice"]), "a2": (2, ["join.r2"]), "b2": (2, [])}
    members = {"r1": {"a0", "a1"}, "r2": {"a1", "a2"}, "alice": {"a0", "b1"}}
    everyone = set(layout)

    async def main():
        ws, ids = {}, {}
        for who, (i, cmds) in layout.items():
            ws[who] = await ws_connect(nodes[i].url("/c"))
            for cmd in cmds:
                await join(ws[who], cmd)
            ids[who] = (await call(ws[who], {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]
        for channel in ("t:room:r1", "t:room:r2", "t:user:alice"):
            wait_subscribed(redis, 2, channel)
        expected = {who: [] for who in layout}

        # Route deliveries (Gateway-Deliver) from a0, one after another; the last, to all, ends them.
        header_cases = [
            ("sender", {"a0"}), ("all", everyone), ("others", everyone - {"a0"}), ("room", members["r1"]),
            ("room:r2", members["r2"]), ("user:alice", members["alice"]),
            (f"connections:{ids['b1']},{ids['b2']},{ids['a0']}", {"b1", "b2", "a0"}), ("none", set()),
            ("all", everyone),
        ]
        for n, (deliver, recipients) in enumerate(header_cases):
            body = {"m": n}
            spec = {"headers": {"Gateway-Deliver": deliver}, "body": body}
            await ws["a0"].send(json.dumps({"cmd": "dyn", "id": n, "data": spec}))
            for who in recipients:
                expected[who].append({"cmd": "dyn", "id": n, "data": body} if who == "a0"
                                     else {"cmd": "dyn", "data": body})
        last = len(header_cases) - 1
        for who in layout:
            end = {"cmd": "dyn", "data": {"m": last}}
            if who == "a0":
                end = {"cmd": "dyn", "id": last, "data": {"m": last}}
            check(await collect(ws[who], end), expected[who][:-1], f"{who} (Gateway-Deliver)")
            expected[who] = []

        # Admin publishes from n1: (target, except, recipients, n1's own recipients).
        publish_cases = [
            ({"all": True}, ["a2"], everyone - {"a2"}, 2), ({"room": "r1"}, [], members["r1"], 1),
            ({"room": "r2"}, ["a1"], {"a2"}, 0), ({"user": "alice"}, [], members["alice"], 1),
            ({"connections": [ids["a0"], ids["b2"], ids["b1"]]}, [], {"a0", "b2", "b1"}, 1),
            ({"connections": [ids["b0"]]}, ["b0"], set(), 0), ({"all": True}, [], everyone, 2),
        ]

        def publish_all():
            admin = Admin(nodes[1])
            try:
                return [admin.publish({"to": to, "except": [ids[w] for w in exc], "cmd": "adm", "data": n})
                        for n, (to, exc, _, _) in enumerate(publish_cases)]
            finally:
                admin.close()
        answers = await in_thread(publish_all)
        assert answers == [{"delivered": local, "cluster": True} for _, _, _, local in publish_cases], answers
        for n, (_, _, recipients, _) in enumerate(publish_cases):
            for who in recipients:
                expected[who].append({"cmd": "adm", "data": n})
        last = len(publish_cases) - 1
        for who in layout:
            check(await collect(ws[who], {"cmd": "adm", "data": last}), expected[who][:-1], f"{who} (publish)")
            await nothing_pending(ws[who], who)
        for c in ws.values():
            await c.close()
    run(main(), timeout=60)


# ----------------------------------------------------------------------------------------------
# a node killed mid-stream


def test_a_node_killed_mid_stream_leaves_the_others_traffic_alone(redis, gateway_factory, backend):
    """One publisher on n0 streams to a room with members on every node; n2 is SIGKILLed and the
    stream goes on until a survivor has declared n2 lost (`nodeTimeoutSeconds: 2`) and past it:
    n0's and n1's members get every message, in order, once, and stay connected."""
    nodes = start_nodes(gateway_factory, backend, redis, nodeTimeoutSeconds=2)
    n0, n1, n2 = nodes

    async def main():
        members = await members_on(nodes, 2)
        wait_subscribed(redis, 3)
        survivors = [(node, ws) for node, ws in members if node != "n2"]
        doomed = [ws for node, ws in members if node == "n2"]
        pub = Publisher(n0, "s")
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "seq", "data": "s-end"})) for _, ws in survivors]
        pub.start()
        await in_thread(pub.wait_for, 200)
        n2.proc.send_signal(signal.SIGKILL)
        n2.proc.wait(5)
        n2.expected_exit = -signal.SIGKILL
        for ws in doomed:
            await asyncio.wait_for(ws.wait_closed(), 5)
        await in_thread(lambda: wait_until(lambda: any("cluster: node n2 lost" in g.log() for g in (n0, n1)),
                                           timeout=5, what="a survivor to declare n2 lost"))
        at_loss = pub.answered
        await in_thread(pub.wait_for, at_loss + 200)
        total = await in_thread(pub.stop)
        admin = Admin(n0)
        admin.publish({"to": {"room": ROOM}, "cmd": "seq", "data": "s-end"})
        admin.close()
        print(f"{total} messages; n2 killed after 200, declared lost after {at_loss}")
        want = [pub.frame(n) for n in range(total)]
        for i, ((node, ws), frames) in enumerate(zip(survivors, await asyncio.gather(*readers))):
            check(frames, want, f"member {i} on {node}")
            await nothing_pending(ws, f"m{i}")
        for g in (n0, n1):
            assert g.metric("gateway_websocket_connections") == 2, g.node
            assert g.metric("gateway_websockets_opened_total") == 2, g.node
        for _, ws in survivors:
            await ws.close()
    run(main(), timeout=60)
    assert cluster_counts(n0)["dropped"] == 0


# ----------------------------------------------------------------------------------------------
# a delivery to several rooms while a node starts subscribing to one of them


def test_joining_a_room_does_not_cost_another_rooms_members_a_delivery(redis, gateway_factory, backend):
    """The sender (n0) is in r1 and r2 and writes a burst with `deliver: room`: each message is
    published on r1's and r2's channels, and a node with members in both delivers one copy. Eight
    connections on n1 and one on n2 are in r2 all along. While n1 takes the burst off Redis, y on
    n1 joins and leaves r1 again and again, so n1 keeps subscribing to r1 and unsubscribing. Every
    r2 member must still get every message once, in order; y, some of them, in order, once."""
    nodes = start_nodes(gateway_factory, backend, redis, limits={"messageBurst": 100000})
    n0, n1, n2 = nodes
    total = 3000

    async def main():
        sender = await ws_connect(n0.url("/c"))
        await join(sender, "join.r1r2")
        members = []
        for g in (n1,) * 8 + (n2,):
            ws = await ws_connect(g.url("/c"))
            await join(ws, "join.r2")
            members.append((g.node, ws))
        y = await ws_connect(n1.url("/c"))
        wait_subscribed(redis, 3, "t:room:r2")
        wait_subscribed(redis, 1, "t:room:r1")
        progress = [0]
        readers = [asyncio.ensure_future(collect(ws, {"cmd": "burst", "data": "end"}, progress=progress))
                   for _, ws in members]
        replies = asyncio.ensure_future(collect(sender, {"cmd": "burst", "id": "end", "data": "end"}))
        frames = [json.dumps({"cmd": "burst", "id": i, "data": i}) for i in range(total)]
        frames.append(json.dumps({"cmd": "burst", "id": "end", "data": "end"}))
        sender.transport.write(b"".join(encode_frame(OP_TEXT, f.encode()) for f in frames))
        # y joins and leaves r1 for as long as n1 is delivering the burst; its frames are the
        # replies (in order) with the pushes it got while in r1 in between.
        y_frames, cycles = [], 0
        while progress[0] < total * 9 // 10 and not any(r.done() for r in readers):
            for cmd in ("join.r1", "leave.r1"):
                await y.send(json.dumps({"cmd": cmd, "id": f"{cmd}-{cycles}", "data": {}}))
                while True:
                    m = await recv_json(y)
                    if m.get("id") == f"{cmd}-{cycles}":
                        break
                    y_frames.append(m)
            cycles += 1
        got = await asyncio.gather(*readers)
        want = [{"cmd": "burst", "data": i} for i in range(total)]
        for i, ((node, _), frames_got) in enumerate(zip(members, got)):
            check(frames_got, want, f"r2 member {i} on {node} ({cycles} join/leave cycles of y)")
        # (the sentinel too, if y was in r1 when it came)
        seen = [m["data"] for m in y_frames if m["cmd"] == "burst" and m["data"] != "end"]
        assert seen == sorted(set(seen)), f"y got a message twice or out of order: {seen}"
        print(f"y joined and left r1 {cycles} times during the burst and got {len(seen)} of its messages")
        check(await replies, [{"cmd": "burst", "id": i, "data": i} for i in range(total)], "the sender's replies")
        for i, ws in enumerate([sender, y] + [ws for _, ws in members]):
            await nothing_pending(ws, f"c{i}")
            await ws.close()
    run(main(), timeout=90)
