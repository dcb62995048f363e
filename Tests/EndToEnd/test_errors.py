"""Client errors (DESIGN §3): unknown_command, bad_message; an error never closes the connection."""
from helpers import call, recv_json, run, ws_connect


async def _still_works(ws, n):
    reply = await call(ws, {"cmd": "x", "id": f"ok{n}", "data": {"n": n}})
    assert reply == {"cmd": "x", "id": f"ok{n}", "data": {"n": n}}


def test_unknown_command(gateway):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            reply = await call(ws, {"cmd": "no.such.command", "id": "u1", "data": {}})
            assert reply["cmd"] == "no.such.command"
            assert reply["id"] == "u1"
            assert "data" not in reply
            assert reply["error"]["code"] == "unknown_command"
            assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
            await _still_works(ws, 1)
            reply = await call(ws, {"cmd": "nope", "id": 5})
            assert reply["error"]["code"] == "unknown_command" and reply["id"] == 5
            await _still_works(ws, 2)
    run(main())


def test_bad_messages(gateway):
    bad = [
        '{"cmd":',                               # truncated JSON
        "not json at all",
        '{"id":"1","data":{}}',                  # no cmd
        "[1,2,3]",                               # not an object
        '{"cmd":42,"data":{}}',                  # cmd not a string
        '{"cmd":"x","data":{"a":1}',             # unbalanced
        '{"cmd":"x","data":{"a":tru}}',          # invalid literal inside data
        "",                                      # empty message
    ]

    async def main():
        async with ws_connect(gateway.url()) as ws:
            for i, text in enumerate(bad):
                await ws.send(text)
                reply = await recv_json(ws)
                assert reply.get("error", {}).get("code") == "bad_message", f"{text!r} -> {reply}"
                assert "data" not in reply
                await _still_works(ws, i)
            # A binary frame on a json module is a bad message too, not a disconnect.
            await ws.send(b'{"cmd":"x","data":{}}')
            reply = await recv_json(ws)
            assert reply["error"]["code"] == "bad_message", reply
            await _still_works(ws, 100)
    run(main())


def test_errors_keep_reply_order(gateway):
    """Error replies take their place in the reply order like any other reply."""
    async def main():
        async with ws_connect(gateway.url()) as ws:
            await ws.send('{"cmd":"slow200","id":1,"data":{}}')
            await ws.send('{"cmd":"nope","id":2}')
            await ws.send("garbage")
            await ws.send('{"cmd":"x","id":4,"data":4}')
            r = [await recv_json(ws) for _ in range(4)]
            assert r[0] == {"cmd": "slow200", "id": 1, "data": {"ok": True}}
            assert r[1]["id"] == 2 and r[1]["error"]["code"] == "unknown_command"
            assert r[2]["error"]["code"] == "bad_message"
            assert r[3] == {"cmd": "x", "id": 4, "data": 4}
    run(main())


def test_wildcard_and_default_routes(gateway_factory, backend):
    """Router: exact command, then the longest `prefix.*`, then the module default."""
    routes = {
        "user.get": backend.url("/echo"),
        "user.*": backend.url("/status/201"),
        "user.admin.*": backend.url("/text"),
    }
    g = gateway_factory(modules=[backend.module(routes=routes, default=backend.url("/headers"))])

    async def main():
        async with ws_connect(g.url()) as ws:
            assert (await call(ws, {"cmd": "user.get", "data": 1}))["data"] == 1
            assert (await call(ws, {"cmd": "user.list", "data": 1}))["data"] == {"status": 201}
            assert (await call(ws, {"cmd": "user.admin.kick", "data": 1}))["data"] == "hello text"
            other = await call(ws, {"cmd": "other", "data": 1})
            assert other["data"]["headers"]["gateway-command"] == "other"
    run(main())
    assert [r["path"] for r in backend.records()] == ["/echo", "/status/201", "/text", "/headers"]


def test_connection_survives_many_errors(gateway):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            for i in range(200):
                await ws.send("{bad")
            for i in range(200):
                assert (await recv_json(ws))["error"]["code"] == "bad_message"
            await _still_works(ws, 1)
            assert ws.open
    run(main())
