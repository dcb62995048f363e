"""Delivery order (DESIGN §8 "Order"): the pushes caused by one client's messages reach their recipients
in the order the client sent the messages, like the client's own replies, even when the backend calls
finish out of order. Two quick chat.sends whose calls finish swapped must not reach the room swapped,
through a route's `deliver` and through `Gateway-Deliver`, and not when the sender leaves before the
slow call is answered either."""
import asyncio
import json
import urllib.parse

import pytest

from helpers import call, recv_json, run, wait_until, ws_connect

# The first message's call is the slowest, the second's the fastest: they finish 2, 3, 1.
DELAYS_MS = (700, 0, 300)
MEMBERS = 4  # with two loops, some members likely live on the other loop than the sender


def _modules(backend):
    join = backend.url("/respond?" + urllib.parse.urlencode([("h", "Gateway-Join: chat"), ("body", '{"joined":true}')]))
    routes = {
        "join": join,
        "dyn": backend.url("/dynamic"),
        "send.room": {"url": backend.url("/dynamic"), "deliver": "room"},
        "send.chat": {"url": backend.url("/dynamic"), "deliver": "room:chat"},
        "send.others": {"url": backend.url("/dynamic"), "deliver": "others"},
        "x": backend.url("/echo"),
    }
    return [{"path": "/ws", "parser": "json", "routes": routes}]


async def _sentinel(ws, tag):
    """The next frame is the reply to a fresh round trip: nothing else was pending for this client."""
    reply = await call(ws, {"cmd": "x", "id": f"sentinel-{tag}", "data": tag})
    assert reply == {"cmd": "x", "id": f"sentinel-{tag}", "data": tag}, f"unexpected frame: {reply}"


def _message(cmd, n, header):
    spec = {"delayMs": DELAYS_MS[n - 1], "body": {"n": n}}
    if header:
        spec["headers"] = {"Gateway-Deliver": header}
    return json.dumps({"cmd": cmd, "id": n, "data": spec})


# (command, Gateway-Deliver header or None, whether the sender, a member of `chat`, gets replies)
CASES = {
    "route-room": ("send.room", None, True),
    "route-named-room": ("send.chat", None, True),
    "route-others": ("send.others", None, False),
    "header-room": ("dyn", "room:chat", True),
    "header-others": ("dyn", "others", False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_pushes_keep_the_senders_order_when_calls_finish_out_of_order(gateway_factory, backend, case):
    cmd, header, sender_replies = CASES[case]
    g = gateway_factory(modules=_modules(backend), args=("--loops", "2"))

    async def main():
        async with ws_connect(g.url()) as sender:
            members = [await ws_connect(g.url()) for _ in range(MEMBERS)]
            try:
                for ws in (sender, *members):
                    assert (await call(ws, {"cmd": "join", "data": {}}))["data"] == {"joined": True}
                for n in (1, 2, 3):
                    await sender.send(_message(cmd, n, header))
                for i, ws in enumerate(members):
                    got = [await recv_json(ws) for _ in range(3)]
                    assert got == [{"cmd": cmd, "data": {"n": n}} for n in (1, 2, 3)], f"member {i}: {got}"
                if sender_replies:
                    got = [await recv_json(sender) for _ in range(3)]
                    assert got == [{"cmd": cmd, "id": n, "data": {"n": n}} for n in (1, 2, 3)]
                await _sentinel(sender, "sender")
                for i, ws in enumerate(members):
                    await _sentinel(ws, f"member-{i}")
            finally:
                for ws in members:
                    await ws.close()
    run(main())


def test_held_pushes_go_out_after_the_sender_left(gateway_factory, backend):
    """The sender closes while its first (slow) call is in flight and its second is answered: both
    messages were accepted, so the room still gets both, in send order, once the slow call ends."""
    g = gateway_factory(modules=_modules(backend), args=("--loops", "2"), admin=True)

    async def main():
        members = [await ws_connect(g.url()) for _ in range(MEMBERS)]
        try:
            for ws in members:
                assert (await call(ws, {"cmd": "join", "data": {}}))["data"] == {"joined": True}
            async with ws_connect(g.url()) as sender:
                assert (await call(sender, {"cmd": "join", "data": {}}))["data"] == {"joined": True}
                since = await asyncio.get_running_loop().run_in_executor(None, backend.count)
                for n in (1, 2):
                    await sender.send(_message("send.room", n, None))

                def fast_call_taken():
                    # Both calls reached the backend, and the gateway has taken the fast one's answer
                    # (its push is held back): only the slow call is in flight.
                    recs = backend.records(since=since, path="/dynamic")
                    return len(recs) == 2 and g.stats()["backend"]["inFlight"] == 1
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: wait_until(fast_call_taken, what="the fast call answered, the slow one not"))
            for i, ws in enumerate(members):
                got = [await recv_json(ws) for _ in range(2)]
                assert got == [{"cmd": "send.room", "data": {"n": n}} for n in (1, 2)], f"member {i}: {got}"
                await _sentinel(ws, f"member-{i}")
        finally:
            for ws in members:
                await ws.close()
    run(main())
