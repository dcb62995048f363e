"""HTTP/2 to backends (issue 11 point 6, README "Backends over HTTP/2"): routes with `"protocol": "h2c"`
(prior knowledge) and `"h2"` (TLS with ALPN) go through libcurl's HTTP/2 and multiplex their calls over
few connections. The backend is h2backend.py, a real HTTP/2 server on python3-h2 that records each
request with the connection it came on."""
import asyncio
import http.server
import json
import socket
import ssl
import subprocess
import threading

import pytest

from h2backend import H2Backend
from helpers import GATEWAY_BIN, call, expect_closed, run, ws_connect
from test_tls import _EchoHandler, make_certificate


@pytest.fixture(scope="module")
def h2c():
    b = H2Backend().start()
    yield b
    b.stop()


@pytest.fixture(autouse=True)
def _fresh_h2c(h2c):
    h2c.clear()


def h2_module(backend, routes, **kw):
    return backend.module(routes={**backend.routes(), **routes}, **kw)


def route(b, path, **kw):
    return {"url": b.url(path), "protocol": "h2c", **kw}


def test_message_round_trips_over_h2c_with_gateway_headers_and_body(gateway_factory, backend, h2c):
    g = gateway_factory(modules=[h2_module(backend, {"h2echo": route(h2c, "/echo"), "h2info": route(h2c, "/info")})])

    async def body():
        async with ws_connect(g.url()) as ws:
            r = await call(ws, {"cmd": "h2echo", "id": 1, "data": {"over": "h2c", "n": [1, 2, 3]}})
            assert r == {"cmd": "h2echo", "id": 1, "data": {"over": "h2c", "n": [1, 2, 3]}}
            r = await call(ws, {"cmd": "h2info", "id": 2, "data": {"x": 1}})
            assert r["data"]["version"] == "2" and r["data"]["method"] == "POST"
            assert json.loads(r["data"]["body"]) == {"x": 1}
    run(body())
    recs = h2c.snapshot()
    assert [r["path"] for r in recs] == ["/echo", "/info"]
    h = recs[0]["headers"]
    assert h["gateway-command"] == "h2echo"
    assert h["gateway-connection-id"] and h["gateway-request-id"].startswith(h["gateway-connection-id"] + "-")
    assert h["content-type"] == "application/json"
    assert "traceparent" in h and "expect" not in h
    assert json.loads(recs[0]["body"]) == {"over": "h2c", "n": [1, 2, 3]}
    # Both calls on one connection: the second reused the first's (the libcurl 7.88 work-around).
    assert h2c.connections == 1 and {r["conn"] for r in recs} == {1}


def test_lower_case_gateway_response_headers_act(gateway_factory, backend, h2c):
    """HTTP/2 field names are lower case; Gateway-Close and Gateway-Deliver still act."""
    routes = {
        "quiet": route(h2c, "/respond?h=gateway-deliver:none&body=%7B%7D"),
        "bye": route(h2c, "/respond?h=gateway-close:4000%20bye"),
    }
    g = gateway_factory(modules=[h2_module(backend, routes)])

    async def body():
        async with ws_connect(g.url()) as ws:
            await ws.send(json.dumps({"cmd": "quiet", "id": 1, "data": {}}))
            r = await call(ws, {"cmd": "local", "id": 2, "data": "after"})
            assert r["id"] == 2, "the gateway-deliver: none reply was delivered"
            await ws.send(json.dumps({"cmd": "bye", "id": 3, "data": {}}))
            assert await expect_closed(ws) == 4000
    run(body())


def test_fifty_concurrent_clients_share_few_connections(gateway_factory, backend, h2c):
    g = gateway_factory(modules=[h2_module(backend, {"slow": route(h2c, "/slow/100"), "h2echo": route(h2c, "/echo")})],
                        io={"loops": 2})
    clients, rounds = 50, 4

    async def one(i, start):
        async with ws_connect(g.url()) as ws:
            await start.wait()
            for k in range(rounds):
                cmd = "slow" if k % 2 == 0 else "h2echo"
                r = await call(ws, {"cmd": cmd, "id": k, "data": {"c": i, "k": k}}, timeout=10)
                assert "error" not in r, r
                if cmd == "h2echo":
                    assert r["data"] == {"c": i, "k": k}

    async def body():
        start = asyncio.Event()
        tasks = [asyncio.ensure_future(one(i, start)) for i in range(clients)]
        await asyncio.sleep(0.5)
        start.set()
        await asyncio.gather(*tasks)
    run(body(), timeout=90)
    recs = h2c.snapshot()
    assert len(recs) == clients * rounds
    # One connection per loop carries every call, the bursts included (calls made while it is being opened
    # wait for it); HTTP/1.1 would need one connection per concurrent call: 50.
    assert h2c.connections <= 2, f"{h2c.connections} connections for {len(recs)} calls"


def test_more_calls_than_the_backend_allows_streams_open_more_connections(gateway_factory, backend):
    """A backend that allows 10 concurrent streams per connection, 30 calls at once on one loop: the calls
    past the limit open further connections (each with prior knowledge) and every call succeeds."""
    b = H2Backend(max_streams=10).start()
    try:
        g = gateway_factory(modules=[h2_module(backend, {"slow": route(b, "/slow/300")})], io={"loops": 1})

        async def one(i):
            async with ws_connect(g.url()) as ws:
                r = await call(ws, {"cmd": "slow", "id": i, "data": {}}, timeout=10)
                assert r == {"cmd": "slow", "id": i, "data": {"ok": True}}, r

        async def body():
            # A first call opens the connection and learns the limit; then 30 at once.
            await one(-1)
            await asyncio.gather(*[one(i) for i in range(30)])
        run(body())
        assert 3 <= b.connections <= 5, b.connections
    finally:
        b.stop()


def test_a_call_held_for_a_slow_opener_times_out_at_its_own_timeout(gateway_factory, backend):
    """A call made while the first call to the same backend is still connecting waits for that
    connection (libcurl 7.88 work-around), but no longer than its own timeoutMs. The backend's accept
    queue is full, so the first call's connect hangs (its SYNs are dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fill = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    try:
        url = f"http://127.0.0.1:{port}/x"
        routes = {"first": {"url": url, "protocol": "h2c", "timeoutMs": 2500},
                  "second": {"url": url, "protocol": "h2c", "timeoutMs": 300}}
        g = gateway_factory(modules=[h2_module(backend, routes)], io={"loops": 1})

        async def body():
            async with ws_connect(g.url()) as ws1, ws_connect(g.url()) as ws2:
                await ws1.send(json.dumps({"cmd": "first", "id": 1, "data": {}}))
                await asyncio.sleep(0.1)
                r = await call(ws2, {"cmd": "second", "id": 2, "data": {}}, timeout=2.0)
                assert r["error"]["code"] == "backend_timeout" and "300 ms" in r["error"]["message"], r
                r = json.loads(await asyncio.wait_for(ws1.recv(), 5))
                assert r["error"]["code"] in ("backend_timeout", "backend_unavailable"), r
        run(body())
    finally:
        for c in fill:
            c.close()
        listener.close()


def test_post_module_path_over_h2c(gateway_factory, backend, h2c):
    g = gateway_factory(modules=[h2_module(backend, {"h2echo": route(h2c, "/echo")})])
    status, _, data = g.http("POST", "/ws", body=json.dumps({"cmd": "h2echo", "id": "p", "data": {"via": "http"}}),
                             headers={"Content-Type": "application/json"})
    assert status == 200, data
    assert json.loads(data) == {"cmd": "h2echo", "id": "p", "data": {"via": "http"}}
    assert [r["path"] for r in h2c.snapshot()] == ["/echo"]


def test_h2c_route_to_an_http1_backend_is_a_clear_error(gateway_factory, backend, h2c):
    routes = {"wrong": {"url": backend.url("/echo"), "protocol": "h2c"}, "h2echo": route(h2c, "/echo")}
    g = gateway_factory(modules=[h2_module(backend, routes)])

    async def body():
        async with ws_connect(g.url()) as ws:
            for i in range(3):  # every attempt fails the same way (none half-works over HTTP/1.1)
                r = await call(ws, {"cmd": "wrong", "id": i, "data": {}})
                assert r["error"]["code"] == "backend_unavailable", r
                assert "h2c" in r["error"]["message"], r
            r = await call(ws, {"cmd": "h2echo", "id": 9, "data": {"still": "fine"}})
            assert r["data"] == {"still": "fine"}
            r = await call(ws, {"cmd": "echo", "id": 10, "data": {"http1": True}})
            assert r["data"] == {"http1": True}
    run(body())


def test_stream_reset_fails_that_call_and_others_go_on(gateway_factory, backend, h2c):
    routes = {"slow": route(h2c, "/slow/400"), "reset": route(h2c, "/reset"), "h2echo": route(h2c, "/echo")}
    g = gateway_factory(modules=[h2_module(backend, routes)], io={"loops": 1})

    async def body():
        async with ws_connect(g.url()) as ws, ws_connect(g.url()) as other:
            await other.send(json.dumps({"cmd": "slow", "id": "s", "data": {}}))
            await asyncio.sleep(0.1)
            r = await call(ws, {"cmd": "reset", "id": 1, "data": {}})
            assert r["error"]["code"] == "backend_error", r
            assert "INTERNAL_ERROR" in r["error"]["message"] or "stream" in r["error"]["message"], r
            r = json.loads(await asyncio.wait_for(other.recv(), 5))
            assert r == {"cmd": "slow", "id": "s", "data": {"ok": True}}
            r = await call(ws, {"cmd": "h2echo", "id": 2, "data": {"after": "reset"}})
            assert r["data"] == {"after": "reset"}
    run(body())
    assert h2c.connections == 1, "the reset stream took its connection down"


def test_refused_stream_is_sent_again(gateway_factory, backend, h2c):
    """REFUSED_STREAM means the backend did not process the request: libcurl sends it again, on a new
    connection, and the client sees only the answer."""
    g = gateway_factory(modules=[h2_module(backend, {"refuse": route(h2c, "/refuse-once")})], io={"loops": 1})

    async def body():
        async with ws_connect(g.url()) as ws:
            r = await call(ws, {"cmd": "refuse", "id": 1, "data": {"n": 1}})
            assert r == {"cmd": "refuse", "id": 1, "data": {"ok": "second attempt"}}
    run(body())
    recs = h2c.snapshot(path="/refuse-once")
    assert len(recs) == 2 and recs[0]["headers"]["gateway-request-id"] == recs[1]["headers"]["gateway-request-id"]
    assert [r["conn"] for r in recs] == [1, 2], "the refused request was not sent again on a new connection"


def test_goaway_mid_call_fails_that_call_others_finish_then_a_new_connection(gateway_factory, backend, h2c):
    routes = {"slow": route(h2c, "/slow/400"), "goaway": route(h2c, "/goaway"), "h2echo": route(h2c, "/echo")}
    g = gateway_factory(modules=[h2_module(backend, routes)], io={"loops": 1})

    async def body():
        async with ws_connect(g.url()) as ws, ws_connect(g.url()) as other:
            await other.send(json.dumps({"cmd": "slow", "id": "s", "data": {}}))
            await asyncio.sleep(0.1)
            r = await call(ws, {"cmd": "goaway", "id": 1, "data": {}})
            assert r["error"]["code"] == "backend_error", r
            r = json.loads(await asyncio.wait_for(other.recv(), 5))
            assert r == {"cmd": "slow", "id": "s", "data": {"ok": True}}, "a stream below GOAWAY's last id was lost"
            r = await call(ws, {"cmd": "h2echo", "id": 2, "data": {"after": "goaway"}})
            assert r["data"] == {"after": "goaway"}
    run(body())
    recs = h2c.snapshot()
    assert recs[-1]["path"] == "/echo" and recs[-1]["conn"] == 2, recs


@pytest.mark.parametrize("goaway", [False, True], ids=["fin", "goaway"])
def test_a_connection_the_backend_closed_while_idle_is_replaced(gateway_factory, backend, h2c, goaway):
    """The backend closes idle connections (its idle timeout). The next calls find the cached connection
    dead and open a new one; with libcurl 7.88 they are joiners that get vetoed and restarted as the
    opener, and none of them fails."""
    g = gateway_factory(modules=[h2_module(backend, {"h2echo": route(h2c, "/echo")})], io={"loops": 1})

    async def burst(ws, tag):
        for i in range(5):
            await ws.send(json.dumps({"cmd": "h2echo", "id": i, "data": {"t": tag, "i": i}}))
        got = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(5)]
        assert [r.get("data") for r in got] == [{"t": tag, "i": i} for i in range(5)], got

    async def body():
        async with ws_connect(g.url()) as ws:
            await burst(ws, "before")
            h2c.drop_connections(goaway=goaway)
            await asyncio.sleep(0.2)
            await burst(ws, "after")
            h2c.drop_connections(goaway=goaway)
            await asyncio.sleep(0.2)
            await burst(ws, "again")
    run(body())
    assert h2c.connections == 3, h2c.connections


def test_proxy_route_over_h2c(gateway_factory, backend, h2c):
    g = gateway_factory(http_routes=[{"prefix": "/api/", "url": h2c.url("/"), "protocol": "h2c"}], io={"loops": 1})
    for i in range(3):
        status, _, data = g.http("GET", "/api/info?q=1")
        assert status == 200, data
        assert json.loads(data)["path"] == "/info?q=1" and json.loads(data)["version"] == "2"
    status, _, data = g.http("POST", "/api/echo", body=b'{"up":"loaded"}', headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(data) == {"up": "loaded"}
    assert h2c.connections == 1


# ----------------------------------------------------------------------------------------------
# h2 over TLS (ALPN)

@pytest.fixture(scope="module")
def h2tls(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("h2tls"))
    cert, key = make_certificate(d, "h2", "h2-backend")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    b = H2Backend(ctx).start()
    b.ca, b.key = cert, key
    yield b
    b.stop()


def test_h2_over_tls_with_alpn(gateway_factory, backend, h2tls):
    h2tls.clear()
    routes = {"secure": {"url": h2tls.url("/echo"), "protocol": "h2"}}
    g = gateway_factory(modules=[h2_module(backend, routes)], io={"backendTLS": {"caFile": h2tls.ca}, "loops": 1})

    async def body():
        async with ws_connect(g.url()) as ws:
            for i in range(3):
                r = await call(ws, {"cmd": "secure", "id": i, "data": {"over": "h2", "i": i}})
                assert r["data"] == {"over": "h2", "i": i}
    run(body())
    recs = h2tls.snapshot()
    assert len(recs) == 3 and {r["alpn"] for r in recs} == {"h2"}
    assert h2tls.connections == 1


# ----------------------------------------------------------------------------------------------
# check-config

def _check(tmp_path, route_value, http_route=None):
    cfg = {"listen": "127.0.0.1:8080", "modules": [{"path": "/ws", "routes": {"a": route_value}}]}
    if http_route is not None:
        cfg["http"] = [http_route]
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(p)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("value, message", [
    ({"url": "http://127.0.0.1:9000/x", "protocol": "h3"}, 'modules[0].routes.a.protocol: must be http1, h2c'),
    ({"url": "http://127.0.0.1:9000/x", "protocol": 2}, "modules[0].routes.a.protocol: expected a string"),
    ({"url": "http://127.0.0.1:9000/x", "protocol": "h2"}, 'an http:// URL needs "h2c"'),
    ({"url": "https://127.0.0.1:9000/x", "protocol": "h2c"}, 'an https:// URL needs "h2"'),
    ({"local": "echo", "protocol": "h2c"}, "modules[0].routes.a.protocol: applies to url routes only"),
])
def test_check_config_rejects_bad_protocols(tmp_path, value, message):
    rc, out = _check(tmp_path, value)
    assert rc != 0 and message in out, out


def test_gateway_routes_names_the_protocol(tmp_path):
    cfg = {"listen": "127.0.0.1:8080", "modules": [{"path": "/ws", "routes": {
        "a": {"url": "http://127.0.0.1:9000/a", "protocol": "h2c", "timeoutMs": 500},
        "b": "http://127.0.0.1:9000/b"}}]}
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "routes", "--config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = {line.split()[1]: line for line in r.stdout.splitlines() if line.strip().startswith("exact")}
    assert "(timeout 500 ms, h2c)" in lines["a"] and "h2c" not in lines["b"], r.stdout


def test_check_config_rejects_a_proxy_route_protocol_mismatch_and_accepts_good_ones(tmp_path):
    rc, out = _check(tmp_path, "http://127.0.0.1:9000/x", {"prefix": "/api/", "url": "http://127.0.0.1:9000/", "protocol": "h2"})
    assert rc != 0 and "http[0].protocol" in out, out
    rc, out = _check(tmp_path, {"url": "https://127.0.0.1:9000/x", "protocol": "h2"},
                     {"prefix": "/api/", "url": "http://127.0.0.1:9000/", "protocol": "h2c"})
    assert rc == 0, out
    rc, out = _check(tmp_path, {"url": "http://127.0.0.1:9000/x", "protocol": "http1"})
    assert rc == 0, out


def test_h2_route_to_an_https_server_without_h2_falls_back_to_http1(gateway_factory, backend, h2tls):
    """ALPN decides: a TLS server that offers no h2 is spoken to in HTTP/1.1, and the call works."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(h2tls.ca, h2tls.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        routes = {"secure": {"url": f"https://localhost:{server.server_address[1]}/echo", "protocol": "h2"}}
        g = gateway_factory(modules=[h2_module(backend, routes)], io={"backendTLS": {"caFile": h2tls.ca}})

        async def body():
            async with ws_connect(g.url()) as ws:
                r = await call(ws, {"cmd": "secure", "id": 1, "data": {"over": "http/1.1 over TLS"}})
                assert r["data"] == {"over": "http/1.1 over TLS"}
        run(body())
    finally:
        server.shutdown()
