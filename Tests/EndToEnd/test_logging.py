"""Structured logs and the access lines (issue 12, point 3): `--log-format json` / GATEWAY_LOG_FORMAT
write one JSON object per line with ts, level, msg and the context keys; at `--log-level info` each
handshake and each close has a line with its duration, status or close code; the metrics count
handshakes by status and closes by code."""
import json
import re

import pytest

from helpers import call, handshake_request, http_raw, run, wait_until, ws_connect


def json_lines(g):
    out = []
    for line in g.log().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))   # every JSON-looking line must parse
    return out


def test_json_access_lines_for_handshake_and_close(gateway_factory, backend):
    modules = [backend.module(), backend.module(path="/strict", origins=["https://ok.example"])]
    g = gateway_factory(modules=modules, args=["--log-format", "json", "--log-level", "info"], admin=True)

    async def body():
        async with ws_connect(g.url("/ws")) as ws:
            assert (await call(ws, {"cmd": "echo", "id": 1, "data": 1}))["data"] == 1
    run(body())
    status = http_raw(g.port, handshake_request("/strict"))[0]   # no Origin: 403
    assert status == 403

    def lines():
        ls = json_lines(g)
        return ls if any(l.get("event") == "close" for l in ls) and sum(l.get("event") == "handshake" for l in ls) >= 2 else None
    ls = wait_until(lines, what="handshake and close lines")
    for l in ls:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", l["ts"]), l
        assert l["level"] in ("info", "notice", "warning", "error") and isinstance(l["msg"], str)
    assert any("listening on" in l["msg"] and l["level"] == "notice" for l in ls)
    ok = next(l for l in ls if l.get("event") == "handshake" and l["status"] == 101)
    assert ok["module"] == "/ws" and isinstance(ok["durationMs"], int) and ok["connectionId"]
    assert ok["remoteAddress"] == "127.0.0.1"
    refused = next(l for l in ls if l.get("event") == "handshake" and l["status"] == 403)
    assert refused["module"] == "/strict"
    close = next(l for l in ls if l.get("event") == "close")
    assert close["connectionId"] == ok["connectionId"] and close["code"] == 1000 and isinstance(close["durationMs"], int)

    _, _, raw = g.admin("GET", "/metrics")
    text = raw.decode()
    assert 'gateway_websocket_handshakes_total{status="101"} 1' in text
    assert 'gateway_websocket_handshakes_total{status="403"} 1' in text
    assert 'gateway_websocket_closes_total{code="1000"} 1' in text


def test_default_level_has_no_access_lines_and_env_selects_json(gateway_factory, backend):
    g = gateway_factory(env={"GATEWAY_LOG_FORMAT": "json"})

    async def body():
        async with ws_connect(g.url("/ws")) as ws:
            await call(ws, {"cmd": "echo", "id": 1, "data": 1})
    run(body())
    ls = json_lines(g)
    assert ls and all(l.get("event") not in ("handshake", "close") for l in ls), ls
    assert any("listening on" in l["msg"] for l in ls)


def test_text_is_the_default_and_bad_format_is_refused(gateway_factory, backend, tmp_path):
    g = gateway_factory()
    assert "listening on" in g.log() and not g.log().lstrip().startswith("{")
    import subprocess
    from helpers import GATEWAY_BIN
    p = subprocess.run([GATEWAY_BIN, "serve", "--log-format", "xml", "--config", "/nonexistent"], capture_output=True, text=True)
    assert p.returncode == 2 and 'unknown log format "xml"' in p.stderr
    p = subprocess.run([GATEWAY_BIN, "serve", "--log-level", "loud", "--config", "/nonexistent"], capture_output=True, text=True)
    assert p.returncode == 2 and 'unknown log level "loud"' in p.stderr


def test_call_warnings_carry_request_trace_command_and_route(gateway_factory, backend):
    """A warning about one message's call names the call: connectionId, requestId (the
    Gateway-Request-Id the backend got), traceId (the client's traceparent), module, command, route."""
    routes = {"do.*": backend.url("/respond?h=Gateway-Deliver:everyone")}
    g = gateway_factory(modules=[backend.module(routes=routes)], args=["--log-format", "json"])
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    async def body():
        async with ws_connect(g.url("/ws"), extra_headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}) as ws:
            r = await call(ws, {"cmd": "do.it", "id": 1, "data": {"a": 1}})
            assert r["data"] == {"a": 1}   # the reply still goes to the sender
    run(body())
    sent = backend.records(prefix="/respond")[-1]["headers"]
    sent = {k.lower(): v for k, v in sent.items()} if isinstance(sent, dict) else {k.lower(): v for k, v in sent}
    line = wait_until(lambda: next((l for l in json_lines(g) if "Gateway-Deliver" in l["msg"]), None), what="the warning")
    assert line["level"] == "warning"
    assert line["requestId"] == sent["gateway-request-id"] and line["connectionId"] == sent["gateway-connection-id"]
    assert line["traceId"] == trace and line["command"] == "do.it" and line["route"] == "do.*" and line["module"] == "/ws"
