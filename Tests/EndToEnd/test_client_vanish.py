"""Clients that vanish mid-call (TCP RST or FIN, no close frame): the gateway keeps serving, sends the
disconnect hook with 1006 and releases every descriptor."""
import asyncio
import json
import time

from helpers import OP_TEXT, RawWS, call, encode_frame, run, wait_until, ws_connect

VANISHERS = 6


def _module(backend):
    return backend.module(disconnect=backend.url("/disconnect"))


def _conn_of(rec):
    return next(v for k, v in rec["headers"] if k.lower() == "gateway-connection-id")


def test_client_vanishes_mid_call(gateway_factory, backend):
    g = gateway_factory(modules=[_module(backend)], admin=True)

    async def bystander_session(vanish_done):
        async with ws_connect(g.url()) as ws:
            n = 0
            while True:
                done = vanish_done.is_set()
                assert await call(ws, {"cmd": "x", "id": n, "data": n}) == {"cmd": "x", "id": n, "data": n}
                n += 1
                if done:  # this call was sent after the orphaned replies were handled
                    return n
                await asyncio.sleep(0.01)  # pacing: a steady stream of calls, not a flood

    async def main():
        vanish_done = asyncio.Event()
        bystander = asyncio.create_task(bystander_session(vanish_done))
        loop = asyncio.get_running_loop()

        def vanish():
            clients = []
            for i in range(VANISHERS):
                c = RawWS(g.port)
                c.send(encode_frame(OP_TEXT, json.dumps({"cmd": "slow500", "id": i, "data": {"v": i}}).encode()))
                clients.append(c)
            # Calls are in flight at the backend before the clients vanish.
            recs = backend.wait_records(VANISHERS, path="/slow/500")
            for i, c in enumerate(clients):
                c.abort(rst=(i % 2 == 0))
            return recs

        recs = await loop.run_in_executor(None, vanish)

        def orphans_handled():
            # The backend has answered every orphaned call, and the gateway has taken those replies
            # (no backend request in flight, hooks included).
            backend.wait_done(path="/slow/500")
            wait_until(lambda: g.stats()["backend"]["inFlight"] == 0, timeout=5,
                       what="no backend request in flight at the gateway")
        # Keep the bystander busy until the orphaned replies have reached the gateway and gone nowhere.
        await loop.run_in_executor(None, orphans_handled)
        vanish_done.set()
        served = await bystander
        assert served > 5
        return recs

    recs = run(main())
    conns = {json.loads(r["body"])["v"]: _conn_of(r) for r in recs}
    assert len(set(conns.values())) == VANISHERS
    for i, conn in conns.items():
        d = backend.wait_disconnect(conn)
        assert d["code"] == 1006, f"vanisher {i} ({'RST' if i % 2 == 0 else 'FIN'}): {d}"

    # Still serving.
    async def again():
        async with ws_connect(g.url()) as ws:
            reply = await call(ws, {"cmd": "slow10", "id": 1, "data": {}})
            assert reply == {"cmd": "slow10", "id": 1, "data": {"ok": True}}
    run(again())
    assert g.proc.poll() is None


def test_fds_return_to_baseline_after_vanishing_clients(gateway_factory, backend):
    g = gateway_factory(modules=[_module(backend)], io={"loops": 1})

    def settle():
        """Waits until every backend call is answered, no client connection is open and the count is
        stable."""
        def stable():
            if any(r["done"] is None for r in backend.records()):
                return None
            a = g.fd_breakdown(backend.port)
            time.sleep(0.1)
            b = g.fd_breakdown(backend.port)
            return b if a == b and b["client"] == 0 else None
        return wait_until(stable, timeout=10, what="fd count to settle")

    def round_of_vanishers(rst):
        before = len(backend.disconnects())
        clients = [RawWS(g.port) for _ in range(VANISHERS)]
        since = backend.count()
        for i, c in enumerate(clients):
            c.send(encode_frame(OP_TEXT, json.dumps({"cmd": "slow200", "id": i, "data": {}}).encode()))
        backend.wait_records(VANISHERS, since=since, path="/slow/200")
        for c in clients:
            c.abort(rst=rst)
        wait_until(lambda: len(backend.disconnects()) >= before + VANISHERS, timeout=10,
                   what="disconnect hooks of the vanished clients")

    # Warm-up (fills the backend connection pool the same way the measured rounds will).
    round_of_vanishers(rst=True)
    baseline = settle()
    for rst in (True, False, True):
        round_of_vanishers(rst)
        after = settle()
        assert after["client"] == 0
        assert after["other"] == baseline["other"], f"leaked descriptors: baseline {baseline}, now {after}"
        # Pooled keep-alive connections to the backend may vary a little with timing, but must not grow
        # with every round.
        assert after["backend"] <= max(baseline["backend"], 2 * VANISHERS), (baseline, after)
    total = g.fd_count()
    assert total <= sum(baseline.values()) + VANISHERS, (baseline, total)
