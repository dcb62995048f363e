"""Upstream groups (DESIGN §10): balancing, safe retries with Idempotency-Key, timeouts that are
retried only for idempotent routes, circuit breakers, active health checks and passive ejection,
against several real endpoints (upstream_backend.py) and the real gateway under both engines."""
import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import call, recv_json, run, wait_until, ws_connect

HERE = os.path.dirname(os.path.abspath(__file__))


class Endpoints:
    """The endpoints of upstream_backend.py and its control port."""

    def __init__(self, proc, control, ports):
        self.proc = proc
        self.control = control
        self.ports = ports

    def url(self, i):
        return f"http://127.0.0.1:{self.ports[i]}"

    def urls(self, n=None):
        return [self.url(i) for i in range(n if n is not None else len(self.ports))]

    def _req(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.control, timeout=15)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"} if body is not None else {})
            r = c.getresponse()
            data = r.read()
            assert r.status == 200, (method, path, r.status, data)
            return json.loads(data)
        finally:
            c.close()

    def configure(self, i, **kw):
        return self._req("POST", f"/ep/{i}/config", kw)

    def stop(self, i):
        return self._req("POST", f"/ep/{i}/stop", {})

    def start(self, i):
        return self._req("POST", f"/ep/{i}/start", {})

    def kill(self, i):
        return self._req("POST", f"/ep/{i}/kill", {})

    def state(self, i):
        return self._req("GET", f"/ep/{i}")

    def calls(self, i):
        return self.state(i)["calls"]

    def reset(self):
        self._req("POST", "/reset", {})
        for i in range(len(self.ports)):
            if not self.state(i)["listening"]:
                self.start(i)


@pytest.fixture(scope="module")
def endpoints():
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "upstream_backend.py"), "3"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if not line or line[0] != "PORTS":
        proc.kill()
        raise RuntimeError(f"upstream backend did not start: {line!r}")
    e = Endpoints(proc, int(line[1]), [int(x) for x in line[2:]])
    yield e
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(autouse=True)
def _fresh_endpoints(endpoints):
    endpoints.reset()
    yield
    assert endpoints.proc.poll() is None, "the upstream backend died"


def module(routes):
    return [{"path": "/ws", "parser": "json", "routes": routes}]


def upstreams_of(gw):
    return gw.admin_json("GET", "/v1/upstreams")["upstreams"]


def endpoint_figures(gw, name="svc"):
    for u in upstreams_of(gw):
        if u["name"] == name:
            return u["endpoints"]
    raise AssertionError(f"no upstream {name}")


async def sequential(url, cmd, n, start=0):
    """n calls one after another on one connection; returns the replies."""
    out = []
    async with ws_connect(url) as ws:
        for k in range(n):
            out.append(await call(ws, {"cmd": cmd, "id": start + k, "data": {"k": start + k}}))
    return out


def test_round_robin_spreads_evenly(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls()}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc", "path": "/rpc"}}), upstreams=ups, io={"loops": 1})
    replies = run(sequential(gw.url(), "x", 30))
    assert all("data" in r for r in replies), replies
    assert [r["data"]["endpoint"] for r in replies[:6]] == [0, 1, 2, 0, 1, 2], replies[:6]
    assert [endpoints.calls(i) for i in range(3)] == [10, 10, 10]
    assert all(rec["path"] == "/rpc" for rec in endpoints.state(0)["records"])
    # No retry configured: no Idempotency-Key.
    assert endpoints.state(1)["records"][0]["idempotencyKey"] is None


@pytest.mark.parametrize("client", ["auto", "curl"])
def test_retry_on_503_goes_to_another_endpoint_with_the_same_idempotency_key(gateway_factory, endpoints, client):
    ups = {"svc": {"endpoints": endpoints.urls(2), "retry": {"attempts": 2, "on": ["connect-failure", "503"], "backoffMs": 5}}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc", "path": "/rpc"}}), upstreams=ups,
                         io={"loops": 1, "backendClient": client}, admin=True)
    endpoints.configure(0, status=503)
    replies = run(sequential(gw.url(), "x", 4))
    # Every call ends on endpoint 1: the 503s of endpoint 0 were retried there.
    assert [r.get("data", {}).get("endpoint") for r in replies] == [1, 1, 1, 1], replies
    first = endpoints.state(0)["records"]
    second = endpoints.state(1)["records"]
    # Round-robin comes back to endpoint 0 for every call (the retry moved the cursor past 1).
    assert len(first) == 4 and len(second) == 4, (first, second)
    for rec in first + second:
        assert rec["idempotencyKey"] and rec["idempotencyKey"] == rec["requestId"], rec
    # The first call went to 0 and was retried on 1: the same key on both tries.
    assert first[0]["idempotencyKey"] == second[0]["idempotencyKey"]
    # Both endpoints answering 503: the retry's answer (503) reaches the client as backend_error.
    endpoints.configure(1, status=503)
    r = run(sequential(gw.url(), "x", 1, start=10))[0]
    assert r["error"]["code"] == "backend_error" and r["error"]["status"] == 503, r
    u = upstreams_of(gw)[0]
    assert u["retries"] >= 3, u


@pytest.mark.parametrize("client", ["auto", "curl"])
def test_connect_failure_is_retried_on_a_live_endpoint_until_the_dead_one_is_ejected(gateway_factory, endpoints, backend, client):
    dead = backend.dead_url("")
    ups = {"svc": {"endpoints": [dead, endpoints.url(0)], "retry": {"attempts": 2, "on": ["connect-failure"]},
                   "outlierDetection": {"consecutiveFailures": 3, "baseEjectionMs": 60000}}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc"}}), upstreams=ups,
                         io={"loops": 1, "backendClient": client}, admin=True)
    replies = run(sequential(gw.url(), "x", 10))
    assert all(r.get("data", {}).get("endpoint") == 0 for r in replies), replies
    assert endpoints.calls(0) == 10
    # Round-robin came back to the dead endpoint for each call until its third failure ejected it.
    figures = endpoint_figures(gw)
    assert figures[0]["calls"] == 3 and figures[0]["errors"] == 3 and figures[0]["ejected"], figures
    assert figures[1]["calls"] == 10 and figures[1]["errors"] == 0, figures
    assert "ejected for 60000 ms" in gw.log()


def test_timeout_retried_only_for_idempotent_routes(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls(2),
                   "retry": {"attempts": 2, "on": ["connect-failure", "timeout"], "perTryTimeoutMs": 300, "backoffMs": 0}}}
    routes = {"plain": {"upstream": "svc", "path": "/plain", "timeoutMs": 2000},
              "idem": {"upstream": "svc", "path": "/idem", "timeoutMs": 2000, "idempotent": True}}
    gw = gateway_factory(modules=module(routes), upstreams=ups, io={"loops": 1})
    endpoints.configure(0, delayMs=1200)

    async def main():
        async with ws_connect(gw.url()) as ws:
            # Round-robin starts at endpoint 0, the slow one.
            t0 = time.monotonic()
            r = await call(ws, {"cmd": "plain", "id": 1, "data": {}}, timeout=5)
            assert r["error"]["code"] == "backend_timeout", r
            assert time.monotonic() - t0 < 1.0
            # The next call goes to endpoint 1 (fast): move the cursor back to 0 for the idempotent one.
            r = await call(ws, {"cmd": "plain", "id": 2, "data": {}}, timeout=5)
            assert r["data"]["endpoint"] == 1, r
            r = await call(ws, {"cmd": "idem", "id": 3, "data": {}}, timeout=5)
            assert r["data"]["endpoint"] == 1 and r["data"]["path"] == "/idem", r
    run(main())
    s0, s1 = endpoints.state(0), endpoints.state(1)
    # The non-idempotent call that timed out on endpoint 0 was never sent again.
    assert [x["path"] for x in s0["records"]] == ["/plain", "/idem"], s0["records"]
    assert [x["path"] for x in s1["records"]] == ["/plain", "/idem"], s1["records"]
    assert s0["records"][1]["idempotencyKey"] == s1["records"][1]["idempotencyKey"]


def test_least_inflight_prefers_the_fast_endpoint(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls(2), "balance": "least-inflight"}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc"}}), upstreams=ups, io={"loops": 1})
    endpoints.configure(0, delayMs=50)

    async def client(k):
        async with ws_connect(gw.url()) as ws:
            deadline = time.monotonic() + 2.0
            n = 0
            while time.monotonic() < deadline:
                r = await call(ws, {"cmd": "x", "id": n, "data": {}})
                assert "data" in r, r
                n += 1

    async def main():
        await asyncio.gather(*(client(k) for k in range(6)))
    run(main())
    slow, fast = endpoints.calls(0), endpoints.calls(1)
    assert fast > 4 * slow, (slow, fast)


def test_breaker_opens_fails_fast_probes_and_closes(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls(1), "outlierDetection": False,
                   "circuitBreaker": {"failureRatio": 0.5, "minRequests": 4, "windowMs": 10000, "openMs": 800}}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc"}}), upstreams=ups, io={"loops": 1}, admin=True)
    endpoints.configure(0, status=500)

    async def main():
        async with ws_connect(gw.url()) as ws:
            for k in range(4):
                r = await call(ws, {"cmd": "x", "id": k, "data": {}})
                assert r["error"]["code"] == "backend_error" and r["error"]["status"] == 500, r
            # Open: answered at once, the endpoint sees nothing.
            r = await call(ws, {"cmd": "x", "id": 10, "data": {}})
            assert r["error"]["code"] == "backend_unavailable", r
            assert 0 < r["error"]["retryAfterMs"] <= 800, r
            assert endpoints.calls(0) == 4
    run(main())
    status, headers, body = gw.http("POST", "/ws", body=json.dumps({"cmd": "x", "id": 1, "data": {}}),
                                    headers={"Content-Type": "application/json"})
    assert status == 503, (status, body)
    assert headers.get("retry-after") == "1", headers
    err = json.loads(body)["error"]
    assert err["code"] == "backend_unavailable" and err["retryAfterMs"] > 0, err
    assert endpoint_figures(gw)[0]["breaker"] == "open"
    assert upstreams_of(gw)[0]["fastFails"] >= 2

    # After openMs one probe goes through; it fails (still 500): open again.
    time.sleep(0.85)
    r = run(sequential(gw.url(), "x", 2, start=20))
    assert r[0]["error"]["code"] == "backend_error" and r[1]["error"]["code"] == "backend_unavailable", r
    assert endpoints.calls(0) == 5
    # Fixed: the next probe succeeds and closes the breaker.
    endpoints.configure(0, status=200)
    time.sleep(0.85)
    r = run(sequential(gw.url(), "x", 3, start=30))
    assert all(x.get("data", {}).get("endpoint") == 0 for x in r), r
    assert endpoint_figures(gw)[0]["breaker"] == "closed"
    log = gw.log()
    for line in ("circuit breaker closed -> open", "circuit breaker open -> half-open", "circuit breaker half-open -> open",
                 "circuit breaker half-open -> closed"):
        assert line in log, (line, log[-3000:])
    _, _, metrics = gw.admin("GET", "/metrics")
    text = metrics.decode()
    assert 'gateway_upstream_breaker_state{upstream="svc",endpoint="' + endpoints.url(0) + '",state="closed"} 1' in text, text
    assert 'gateway_upstream_fast_fails_total{upstream="svc"}' in text


def test_failover_when_an_endpoint_stops_and_comes_back(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls(3),
                   "healthCheck": {"path": "/healthz", "intervalMs": 200, "timeoutMs": 150, "unhealthyAfter": 2, "healthyAfter": 2},
                   "retry": {"attempts": 3, "on": ["connect-failure"], "backoffMs": 2, "maxBackoffMs": 20},
                   "outlierDetection": {"consecutiveFailures": 3, "baseEjectionMs": 1000, "maxEjectionPercent": 50}}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc", "path": "/rpc"}}), upstreams=ups, admin=True)
    errors = []

    async def client(k, stop):
        async with ws_connect(gw.url()) as ws:
            n = 0
            while not stop.is_set():
                r = await call(ws, {"cmd": "x", "id": n, "data": {}})
                if "data" not in r:
                    errors.append(r)
                n += 1
                await asyncio.sleep(0.002)

    async def main():
        stop = asyncio.Event()
        tasks = [asyncio.create_task(client(k, stop)) for k in range(6)]
        await asyncio.sleep(0.5)
        assert all(endpoints.calls(i) > 0 for i in range(3))
        await asyncio.to_thread(endpoints.stop, 2)
        # Health checks take it out: unhealthy after 2 failed checks (~0.4 s).
        await asyncio.to_thread(wait_until, lambda: not endpoint_figures(gw)[2]["healthy"], 5.0, 0.05, "endpoint 2 unhealthy")
        tries_then = endpoint_figures(gw)[2]["calls"]
        await asyncio.sleep(1.0)
        tries_later = endpoint_figures(gw)[2]["calls"]
        # Out of rotation: no try went to it meanwhile.
        assert tries_later == tries_then, (tries_then, tries_later)
        before = endpoints.calls(2)
        await asyncio.to_thread(endpoints.start, 2)
        # Healthy again after 2 passed checks, and then back in rotation (ejections last 1–2 s).
        await asyncio.to_thread(wait_until, lambda: endpoints.calls(2) > before + 20, 10.0, 0.05, "calls on endpoint 2 again")
        stop.set()
        await asyncio.gather(*tasks)
    run(main(), timeout=60)
    assert errors == [], errors[:5]
    assert endpoint_figures(gw)[2]["healthy"]
    log = gw.log()
    assert "health healthy -> unhealthy" in log and "health unhealthy -> healthy" in log, log[-3000:]


def test_failover_when_an_endpoint_is_killed_mid_load(gateway_factory, endpoints):
    """The endpoint dies as a killed process does: every connection reset at once, calls in progress
    unanswered. Those calls had reached the backend, so they are not retried (the gateway cannot know
    whether the backend ran them) and fail; every later call is retried past the dead endpoint
    (connect failures), so no client sees another error; it is ejected, gets nothing while it is
    down, and is back in rotation after it restarts."""
    ups = {"svc": {"endpoints": endpoints.urls(3),
                   "healthCheck": {"path": "/healthz", "intervalMs": 200, "timeoutMs": 150, "unhealthyAfter": 2, "healthyAfter": 2},
                   "retry": {"attempts": 3, "on": ["connect-failure"], "backoffMs": 2, "maxBackoffMs": 20},
                   "outlierDetection": {"consecutiveFailures": 3, "baseEjectionMs": 1000, "maxEjectionPercent": 50}}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc", "path": "/rpc"}}), upstreams=ups, admin=True)
    clients, errors, killed_at = 6, [], []

    async def client(k, stop):
        async with ws_connect(gw.url()) as ws:
            n = 0
            while not stop.is_set():
                sent = time.monotonic()
                r = await call(ws, {"cmd": "x", "id": n, "data": {}})
                if "data" not in r:
                    errors.append((sent, r))
                n += 1
                await asyncio.sleep(0.002)

    async def main():
        stop = asyncio.Event()
        tasks = [asyncio.create_task(client(k, stop)) for k in range(clients)]
        await asyncio.sleep(0.5)
        assert all(endpoints.calls(i) > 0 for i in range(3))
        killed_at.append(time.monotonic())
        await asyncio.to_thread(endpoints.kill, 2)
        killed_at.append(time.monotonic())
        await asyncio.to_thread(wait_until, lambda: not endpoint_figures(gw)[2]["healthy"], 5.0, 0.05, "endpoint 2 unhealthy")
        tries_then = endpoint_figures(gw)[2]["calls"]
        await asyncio.sleep(1.0)
        assert endpoint_figures(gw)[2]["calls"] == tries_then, "tries went to the dead endpoint after its ejection"
        before = endpoints.calls(2)
        await asyncio.to_thread(endpoints.start, 2)
        await asyncio.to_thread(wait_until, lambda: endpoints.calls(2) > before + 20, 10.0, 0.05, "calls on endpoint 2 again")
        stop.set()
        await asyncio.gather(*tasks)
    run(main(), timeout=60)
    # Only calls sent before the kill finished can have been in progress on the dead endpoint: at
    # most one per client, each a backend error or unavailability, never a later one.
    assert len(errors) <= clients, errors
    for sent, r in errors:
        assert sent <= killed_at[1], (sent, killed_at, r)
        assert r["error"]["code"] in ("backend_error", "backend_unavailable"), r
    assert endpoint_figures(gw)[2]["healthy"]


def test_admin_lists_upstreams(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": endpoints.urls(2), "balance": "least-inflight", "circuitBreaker": {}},
           "other": {"endpoints": [endpoints.url(2)]}}
    gw = gateway_factory(modules=module({"x": {"upstream": "svc"}, "y": {"upstream": "other", "path": "/y"}}),
                         upstreams=ups, admin=True)
    run(sequential(gw.url(), "x", 4))
    run(sequential(gw.url(), "y", 2))
    listed = upstreams_of(gw)
    assert [u["name"] for u in listed] == ["other", "svc"]
    other, svc = listed
    assert svc["balance"] == "least-inflight" and other["balance"] == "round-robin"
    assert [e["url"] for e in svc["endpoints"]] == endpoints.urls(2)
    assert sum(e["calls"] for e in svc["endpoints"]) == 4
    assert other["endpoints"][0]["calls"] == 2 and other["endpoints"][0]["breaker"] is None
    for e in svc["endpoints"]:
        assert e["healthy"] and not e["ejected"] and e["breaker"] == "closed" and e["inFlight"] == 0
        assert e["errors"] == 0 and e["latencyMs"]["p99"] >= e["latencyMs"]["p50"] >= 0


def test_handshake_hook_through_an_upstream_fails_over(gateway_factory, backend):
    # One endpoint refuses connections; the hook's group retries connect failures on the other.
    ups = {"auth": {"endpoints": [backend.dead_url(""), backend.url("")], "retry": {"attempts": 2, "on": ["connect-failure"]},
                    "outlierDetection": False}}
    m = backend.module(handshake={"upstream": "auth", "path": "/hook/accept"},
                       disconnect={"upstream": "auth", "path": "/disconnect"})
    gw = gateway_factory(modules=[m], upstreams=ups, io={"loops": 1})

    async def main():
        for k in range(3):
            async with ws_connect(gw.url(f"/ws?user=u{k}")) as ws:
                assert await recv_json(ws) == {"welcome": True}
                r = await call(ws, {"cmd": "headers", "id": 1, "data": {}})
                assert r["data"]["headers"]["gateway-user"] == f"u-u{k}"
    run(main())
    assert len(backend.records(prefix="/hook/accept")) == 3
    wait_until(lambda: len(backend.disconnects()) >= 3, 5.0, what="3 disconnect hooks through the upstream")


def test_reload_changes_endpoints_and_keeps_unchanged_groups(gateway_factory, endpoints):
    ups = {"svc": {"endpoints": [endpoints.url(0)], "circuitBreaker": {"minRequests": 2, "openMs": 60000}},
           "steady": {"endpoints": [endpoints.url(2)], "circuitBreaker": {"minRequests": 2, "openMs": 60000}}}
    routes = {"x": {"upstream": "svc"}, "y": {"upstream": "steady"}}
    gw = gateway_factory(modules=module(routes), upstreams=ups, io={"loops": 1}, admin=True)
    endpoints.configure(2, status=500)
    r = run(sequential(gw.url(), "y", 3))
    assert r[2]["error"]["code"] == "backend_unavailable", r   # steady's breaker is open
    assert run(sequential(gw.url(), "x", 1))[0]["data"]["endpoint"] == 0
    cfg = json.loads(open(gw.config_path).read())
    cfg["upstreams"]["svc"]["endpoints"] = [endpoints.url(1)]
    with open(gw.config_path, "w") as f:
        json.dump(cfg, f)
    gw.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in gw.log(), 5.0, what="the reload")
    # The changed group calls its new endpoint; the unchanged one kept its open breaker.
    assert run(sequential(gw.url(), "x", 2))[1]["data"]["endpoint"] == 1
    assert run(sequential(gw.url(), "y", 1))[0]["error"]["code"] == "backend_unavailable"
    listed = {u["name"]: u for u in upstreams_of(gw)}
    assert [e["url"] for e in listed["svc"]["endpoints"]] == [endpoints.url(1)]
    assert listed["steady"]["endpoints"][0]["breaker"] == "open"
