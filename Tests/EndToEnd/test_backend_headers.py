"""Headers the gateway sends to backends (DESIGN §4): Gateway-Connection-Id, Gateway-Command,
Gateway-Request-Id, traceparent, allowed handshake headers; client-sent Gateway-* never forwarded."""
import json

from helpers import TRACEPARENT_RE, call, run, ws_connect

FORGED = [
    ("Gateway-User", "forged-user"),
    ("Gateway-Connection-Id", "forged-conn"),
    ("Gateway-Rooms", "forged-room"),
    ("Gateway-Command", "forged-cmd"),
    ("Gateway-Request-Id", "forged-req"),
    ("Gateway-Set-User", "forged-set"),
]


def _values(lst, name):
    return [v for k, v in lst if k.lower() == name.lower()]


def test_gateway_headers_and_forwarding(gateway_factory, backend):
    mod = backend.module(forwardHeaders=["Authorization"])
    g = gateway_factory(modules=[mod])

    async def main():
        headers = [("Authorization", "Bearer secret-token"), ("X-Not-Allowed", "nope"),
                   ("Cookie", "c=1")] + FORGED
        async with ws_connect(g.url(), extra_headers=headers) as ws:
            r1 = await call(ws, {"cmd": "headers", "id": 1, "data": {}})
            r2 = await call(ws, {"cmd": "headers", "id": 2, "data": {}})
        async with ws_connect(g.url()) as ws:
            r3 = await call(ws, {"cmd": "headers", "id": 3, "data": {}})
        return r1["data"], r2["data"], r3["data"]

    h1, h2, h3 = run(main())
    lst = h1["list"]
    assert _values(lst, "Authorization") == ["Bearer secret-token"]
    assert _values(lst, "X-Not-Allowed") == [], "a header the module does not allow was forwarded"
    assert _values(lst, "Cookie") == [], "Cookie is not in forwardHeaders but was forwarded"
    assert _values(lst, "Gateway-Command") == ["headers"]
    conn = _values(lst, "Gateway-Connection-Id")
    assert len(conn) == 1 and conn[0] and conn[0] != "forged-conn"
    req = _values(lst, "Gateway-Request-Id")
    assert len(req) == 1 and req[0] and req[0] != "forged-req"
    # Without a handshake hook no user and no rooms are known: nothing from the client may appear.
    for name, forged in FORGED:
        assert forged not in _values(lst, name), f"client-sent {name} forwarded to the backend"
    assert _values(lst, "Gateway-User") == []
    assert _values(lst, "Gateway-Set-User") == []
    tp = _values(lst, "traceparent")
    assert len(tp) == 1 and TRACEPARENT_RE.match(tp[0]), tp

    # Same connection: same id, new request id and trace. Other connection: other id.
    assert _values(h2["list"], "Gateway-Connection-Id") == conn
    assert _values(h2["list"], "Gateway-Request-Id") != req
    assert _values(h2["list"], "traceparent") != tp
    assert _values(h3["list"], "Gateway-Connection-Id") != conn
    assert _values(h3["list"], "Authorization") == []


def test_route_forward_headers(gateway_factory, backend):
    """A route's own forwardHeaders add to the module's, for that route only."""
    routes = {
        "plain": backend.url("/headers"),
        "withcookie": {"url": backend.url("/headers"), "forwardHeaders": ["Cookie"]},
    }
    g = gateway_factory(modules=[backend.module(routes=routes)])

    async def main():
        async with ws_connect(g.url(), extra_headers=[("Cookie", "session=abc")]) as ws:
            a = await call(ws, {"cmd": "plain", "data": {}})
            b = await call(ws, {"cmd": "withcookie", "data": {}})
        return a["data"]["list"], b["data"]["list"]

    a, b = run(main())
    assert _values(a, "Cookie") == []
    assert _values(b, "Cookie") == ["session=abc"]


def test_route_method(gateway_factory, backend):
    routes = {
        "get": {"url": backend.url("/echo"), "method": "GET"},
        "put": {"url": backend.url("/echo"), "method": "PUT"},
    }
    g = gateway_factory(modules=[backend.module(routes=routes)])

    async def main():
        async with ws_connect(g.url()) as ws:
            await call(ws, '{"cmd":"get","id":1,"data":{"q":1}}')
            r = await call(ws, '{"cmd":"put","id":2,"data":{"q":2}}')
            assert r == {"cmd": "put", "id": 2, "data": {"q": 2}}

    run(main())
    recs = backend.records(path="/echo")
    assert [r["method"] for r in recs] == ["GET", "PUT"]
    assert recs[1]["body"] == '{"q":2}'


def test_traceparent_continues_the_clients_trace(gateway, backend):
    """A W3C traceparent sent with the handshake (or with a POST) is continued: backend calls carry
    the same trace id with a new parent span."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    incoming = f"00-{trace_id}-00f067aa0ba902b7-01"

    async def main():
        async with ws_connect(gateway.url(), extra_headers=[("traceparent", incoming)]) as ws:
            a = await call(ws, {"cmd": "headers", "data": {}})
            b = await call(ws, {"cmd": "headers", "data": {}})
        return a["data"]["headers"]["traceparent"], b["data"]["headers"]["traceparent"]

    for tp in run(main()):
        assert TRACEPARENT_RE.match(tp)
        assert tp.split("-")[1] == trace_id, tp
        assert tp.split("-")[2] != "00f067aa0ba902b7"
    status, _, body = gateway.http("POST", "/ws", body='{"cmd":"headers","data":{}}', headers={"traceparent": incoming})
    assert status == 200
    assert json.loads(body)["data"]["headers"]["traceparent"].split("-")[1] == trace_id
