"""`POST <module path>` on a module with a handshake hook (README "Plain HTTP"): the hook decides as for
a WebSocket handshake (reject: its status and body; accept: the command runs with the hook's
`Gateway-Set-User` as `Gateway-User`; unreachable: 503). And a client's W3C `traceparent` is continued
in backend calls (same trace id, new span id), from a WebSocket handshake and from a POST, also on
hooked modules."""
import json
import os

from helpers import TRACEPARENT_RE, call, recv_json, run, ws_connect

ENVELOPE = '{"cmd":"headers","id":"h1","data":{"q":1}}'


def _modules(backend):
    routes = {"headers": backend.url("/headers"), "x": backend.url("/echo")}
    return [
        {"path": "/acc", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept")},
        {"path": "/rej", "parser": "json", "routes": routes, "handshake": backend.url("/hook/reject")},
        {"path": "/dead", "parser": "json", "routes": routes, "handshake": backend.dead_url("/hook")},
        {"path": "/slowhook", "parser": "json", "routes": routes, "handshake": backend.url("/slow/1000"),
         "hookTimeoutMs": 200},
        {"path": "/plain", "parser": "text", "routes": routes},
    ]


def _traceparent():
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _header(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


def test_post_rejected_by_the_hook(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))
    status, headers, body = g.http("POST", "/rej?user=x", body=ENVELOPE,
                                   headers={"Content-Type": "application/json", "X-Probe": "1"})
    assert (status, body) == (403, b'{"error":"nope"}')
    assert headers.get("content-type", "").startswith("application/json")
    hooks = backend.records(path="/hook/reject")
    assert len(hooks) == 1
    sent = json.loads(hooks[0]["body"])
    assert sent["path"] == "/rej" and sent["query"].lstrip("?") == "user=x"
    assert sent["headers"].get("x-probe") == "1"
    assert backend.records(path="/headers") == [], "the command ran although the hook rejected it"
    # The connection is still usable (keep-alive) and a plain module is not guarded.
    status, _, body = g.http("POST", "/plain", body='{"cmd":"x","id":2,"data":"d"}')
    assert (status, json.loads(body)) == (200, {"cmd": "x", "id": 2, "data": "d"})


def test_post_accepted_by_the_hook_runs_with_its_user(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))
    tp, trace_id, span_id = _traceparent()
    status, _, body = g.http("POST", "/acc?user=zed", body=ENVELOPE,
                             headers={"Content-Type": "application/json", "Gateway-User": "forged",
                                      "traceparent": tp})
    assert status == 200, body
    reply = json.loads(body)
    assert reply["cmd"] == "headers" and reply["id"] == "h1"
    seen = reply["data"]["list"]
    assert [v for k, v in seen if k.lower() == "gateway-user"] == ["u-zed"], seen
    assert not [v for k, v in seen if k.lower() == "gateway-rooms"], "POST has no session, hence no rooms"
    hooks = backend.records(path="/hook/accept")
    assert len(hooks) == 1
    sent = json.loads(hooks[0]["body"])
    # The same JSON as for a WebSocket handshake.
    assert {"connectionId", "path", "query", "headers", "remoteAddress", "subprotocols"} <= set(sent), sent
    assert sent["path"] == "/acc" and sent["query"].lstrip("?") == "user=zed"
    assert sent["remoteAddress"] in ("127.0.0.1", "::ffff:127.0.0.1")
    assert "gateway-user" not in {k.lower() for k in sent["headers"]}
    call_rec = backend.records(path="/headers")
    assert len(call_rec) == 1 and json.loads(call_rec[0]["body"]) == {"q": 1}
    assert call_rec[0]["seq"] > hooks[0]["seq"], "the command ran before the hook answered"
    # The trace is continued with a new span.
    [backend_tp] = _header(call_rec[0], "traceparent")
    assert TRACEPARENT_RE.match(backend_tp), backend_tp
    assert backend_tp.split("-")[1] == trace_id
    assert backend_tp.split("-")[2] != span_id


def test_post_hook_unreachable_is_503(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))
    status, _, body = g.http("POST", "/dead", body=ENVELOPE, headers={"Content-Type": "application/json"})
    assert status == 503, (status, body)
    # A hook that does not answer within hookTimeoutMs counts as unreachable too.
    status, _, body = g.http("POST", "/slowhook", body=ENVELOPE, headers={"Content-Type": "application/json"})
    assert status == 503, (status, body)
    assert len(backend.records(path="/slow/1000")) == 1
    assert backend.records(path="/headers") == []
    # The gateway keeps serving.
    status, _, body = g.http("POST", "/acc", body=ENVELOPE)
    assert status == 200 and json.loads(body)["data"]["headers"]["gateway-user"] == "u-anon"


def test_traceparent_continued_from_a_hooked_websocket(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))
    tp, trace_id, span_id = _traceparent()

    async def main():
        async with ws_connect(g.url("/acc?user=tia"), extra_headers=[("traceparent", tp)]) as ws:
            assert await recv_json(ws) == {"welcome": True}
            a = (await call(ws, {"cmd": "headers", "id": 1, "data": {}}))["data"]["headers"]
            b = (await call(ws, {"cmd": "headers", "id": 2, "data": {}}))["data"]["headers"]
            return a, b

    a, b = run(main())
    assert a["gateway-user"] == "u-tia"
    spans = set()
    for h in (a, b):
        assert TRACEPARENT_RE.match(h["traceparent"]), h["traceparent"]
        _, t, s, _ = h["traceparent"].split("-")
        assert t == trace_id, f"trace id not continued: sent {tp}, backend got {h['traceparent']}"
        assert s != span_id
        spans.add(s)
    assert len(spans) == 2, "each backend call needs a fresh span id"


def test_invalid_traceparent_starts_a_new_trace(gateway_factory, backend):
    """Only a valid W3C value is continued: an all-zero trace id or upper-case hex start a new trace."""
    g = gateway_factory(modules=_modules(backend))
    for bad in ("00-" + "0" * 32 + "-" + "1" * 16 + "-01", "00-" + "AB" * 16 + "-" + "1" * 16 + "-01",
                "ff-" + "ab" * 16 + "-" + "1" * 16 + "-01"):
        status, _, body = g.http("POST", "/acc", body=ENVELOPE, headers={"traceparent": bad})
        assert status == 200
        got = json.loads(body)["data"]["headers"]["traceparent"]
        assert TRACEPARENT_RE.match(got), got
        assert got.split("-")[1] not in (bad.split("-")[1], bad.split("-")[1].lower()), (bad, got)
