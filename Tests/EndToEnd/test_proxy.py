"""Plain HTTP reverse proxy for `http[]` prefixes (DESIGN §4)."""
import hashlib
import http.client
import json

import pytest

from helpers import TRACEPARENT_RE


@pytest.fixture
def gw(gateway_factory, backend):
    return gateway_factory(http_routes=[
        {"prefix": "/api/", "url": backend.url("/proxy/")},
        {"prefix": "/st/", "url": backend.url("/status/")},
        {"prefix": "/big/", "url": backend.url("/big/")},
        {"prefix": "/echo/", "url": backend.url("/echo")},
        {"prefix": "/slow/", "url": backend.url("/slow/"), "timeoutMs": 200},
        {"prefix": "/down/", "url": backend.dead_url("/")},
    ])


def test_get_with_path_and_query(gw):
    status, headers, body = gw.http("GET", "/api/a/b?q=1&r=two", headers={"X-Custom": "yes",
                                                                          "Gateway-User": "forged"})
    assert status == 200
    seen = json.loads(body)
    assert seen["method"] == "GET"
    assert seen["path"] == "/proxy/a/b"
    assert seen["query"] == "q=1&r=two"
    assert seen["headers"].get("x-custom") == "yes"
    assert "gateway-user" not in seen["headers"], "a client-sent Gateway-* header was forwarded"
    assert TRACEPARENT_RE.match(seen["headers"].get("traceparent", "")), seen["headers"]
    assert seen["headers"].get("x-forwarded-for", "").endswith("127.0.0.1")


def test_post_body_and_methods(gw):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        status, _, body = gw.http(method, "/api/items/1", body=b'{"k":"v"}',
                                  headers={"Content-Type": "application/json"})
        assert status == 200
        seen = json.loads(body)
        assert (seen["method"], seen["path"], seen["body"]) == (method, "/proxy/items/1", '{"k":"v"}')
        assert seen["headers"].get("content-type") == "application/json"


@pytest.mark.parametrize("code", [201, 204, 302, 404, 418, 500, 503])
def test_status_passed_through(gw, code):
    status, _, body = gw.http("GET", f"/st/{code}")
    assert status == code
    if code not in (204, 304):
        assert json.loads(body) == {"status": code}


def test_large_bodies_both_ways(gw):
    payload = bytes(range(256)) * 12000  # 3 MB
    status, headers, body = gw.http("POST", "/echo/", body=payload,
                                    headers={"Content-Type": "application/octet-stream"})
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest()
    status, _, body = gw.http("GET", "/big/5000000")
    assert status == 200 and len(body) == 5000000 and body == b"x" * 5000000


def test_keep_alive_and_mixed_with_module_paths(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    try:
        for i in range(3):
            c.request("GET", f"/api/n{i}")
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())["path"] == f"/proxy/n{i}"
            c.request("POST", "/ws", body='{"cmd":"x","id":%d,"data":%d}' % (i, i))
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read()) == {"cmd": "x", "id": i, "data": i}
    finally:
        c.close()


def test_proxy_failures(gw):
    status, _, _ = gw.http("GET", "/down/x")
    assert status in (502, 503), status
    status, _, _ = gw.http("GET", "/slow/2000")
    assert status == 504, status
    # Still serving afterwards.
    assert gw.http("GET", "/api/ok")[0] == 200
