"""Several event loops (`--loops N`): every client is served, whichever loop accepted it."""
import asyncio
import json

from helpers import listener_count, recv_json, run, ws_connect

CLIENTS = 50


async def _client(url, i):
    async with ws_connect(url, open_timeout=20) as ws:
        for j in range(5):
            await ws.send(json.dumps({"cmd": "x", "id": j, "data": {"c": i, "m": j}}))
        await ws.send(json.dumps({"cmd": "headers", "id": "h", "data": {}}))
        for j in range(5):
            assert await recv_json(ws, 20) == {"cmd": "x", "id": j, "data": {"c": i, "m": j}}
        h = await recv_json(ws, 20)
        return h["data"]["headers"]["gateway-connection-id"]


def test_two_loops_serve_all_clients(gateway_factory, backend):
    g = gateway_factory(args=["--loops", "2"])
    # One SO_REUSEPORT listener per loop (DESIGN §7).
    assert listener_count(g.pid, g.port) == 2

    async def main():
        return await asyncio.gather(*[_client(g.url(), i) for i in range(CLIENTS)])

    conns = run(main(), timeout=60)
    assert len(set(conns)) == CLIENTS, "connection ids must be unique"
    assert len(backend.records(path="/echo")) == CLIENTS * 5
    # Hooks and plain HTTP work on every loop too.
    for _ in range(10):
        status, _, body = g.http("POST", "/ws", body='{"cmd":"x","id":1,"data":1}')
        assert status == 200 and json.loads(body) == {"cmd": "x", "id": 1, "data": 1}


def test_loops_flag_overrides_config(gateway_factory):
    g = gateway_factory(io={"loops": 1}, args=["--loops", "3"])
    assert listener_count(g.pid, g.port) == 3

    async def main():
        await asyncio.gather(*[_client(g.url(), i) for i in range(12)])
    run(main())
