"""Plain HTTP on the public port (DESIGN §1, §4): 404 for unknown paths, 426 for a module path without
Upgrade, `POST <module path>` running the command map, `/healthz`."""
import http.client
import json
import re
import socket
import time

import pytest
import websockets

from helpers import BufferedSock, handshake_request, http_raw, read_http_response_file, run, ws_connect


def test_unknown_path_is_404_without_upgrade(gateway):
    status, headers, _ = http_raw(gateway.port, handshake_request("/no/such/module"))
    assert status == 404
    assert "sec-websocket-accept" not in headers
    assert headers.get("upgrade") is None

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            async with ws_connect(gateway.url("/nope")):
                pass
        assert e.value.status_code == 404
    run(main())
    # Module paths match exactly (a prefix or a trailing slash is another path).
    assert http_raw(gateway.port, handshake_request("/ws/extra"))[0] == 404
    status, _, _ = gateway.http("GET", "/elsewhere")
    assert status == 404


def test_module_path_without_upgrade_is_426(gateway):
    status, headers, _ = gateway.http("GET", "/ws")
    assert status == 426
    assert "websocket" in headers.get("upgrade", "").lower()


def test_query_string_does_not_change_the_module(gateway):
    async def main():
        async with ws_connect(gateway.url("/ws?token=abc&x=1")) as ws:
            await ws.send('{"cmd":"x","id":1,"data":1}')
            assert json.loads(await ws.recv()) == {"cmd": "x", "id": 1, "data": 1}
    run(main())


def test_healthz(gateway):
    status, headers, body = gateway.http("GET", "/healthz")
    assert status == 200
    assert body  # answers with something


def test_post_command(gateway, backend):
    data = '{"a": [1, 2],  "b":"c"}'
    status, headers, body = gateway.http("POST", "/ws", body='{"cmd":"x","id":"h1","data":' + data + "}",
                                         headers={"Content-Type": "application/json"})
    assert status == 200, body
    assert headers.get("content-type", "").startswith("application/json")
    assert json.loads(body) == {"cmd": "x", "id": "h1", "data": {"a": [1, 2], "b": "c"}}
    recs = backend.records(path="/echo")
    assert len(recs) == 1
    assert recs[0]["body"] == data
    names = {k.lower(): v for k, v in recs[0]["headers"]}
    assert names.get("gateway-command") == "x"
    assert names.get("gateway-connection-id")
    assert names.get("gateway-request-id")


def test_post_numeric_id_and_text_body(gateway):
    status, _, body = gateway.http("POST", "/ws", body='{"cmd":"text","id":9}')
    assert status == 200
    assert json.loads(body) == {"cmd": "text", "id": 9, "data": "hello text"}


def test_post_local_echo(gateway, backend):
    status, _, body = gateway.http("POST", "/ws", body='{"cmd":"local","id":1,"data":{"k":"v"}}')
    assert status == 200
    assert json.loads(body) == {"cmd": "local", "id": 1, "data": {"k": "v"}}
    assert backend.records() == []


def test_post_unknown_command_is_404(gateway):
    status, headers, body = gateway.http("POST", "/ws", body='{"cmd":"nope","id":"n1","data":{}}')
    assert status == 404
    env = json.loads(body)
    assert env["cmd"] == "nope" and env["id"] == "n1"
    assert env["error"]["code"] == "unknown_command"


@pytest.mark.parametrize("body", ['{"cmd":', "hello", '{"data":{}}', ""])
def test_post_bad_json_is_400(gateway, body):
    status, _, resp = gateway.http("POST", "/ws", body=body)
    assert status == 400
    assert json.loads(resp)["error"]["code"] == "bad_message"


def test_post_backend_204_is_204(gateway):
    status, _, body = gateway.http("POST", "/ws", body='{"cmd":"nocontent","id":1,"data":{}}')
    assert status == 204
    assert body == b""


@pytest.mark.parametrize("cmd,code", [("err500", "backend_error"), ("down", "backend_unavailable"),
                                      ("timeout", "backend_timeout"), ("garbage", "backend_error")])
def test_post_backend_failures(gateway, cmd, code):
    status, _, body = gateway.http("POST", "/ws", body='{"cmd":"%s","id":1,"data":{}}' % cmd)
    assert status >= 400, (status, body)
    env = json.loads(body)
    assert env["id"] == 1 and env["error"]["code"] == code, env
    if cmd == "err500":
        assert env["error"]["status"] == 500


def test_keep_alive_sequence_of_requests(gateway):
    """Several requests, including errors and an asynchronous backend answer, on one connection."""
    c = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        for i in range(3):
            c.request("POST", "/ws", body='{"cmd":"x","id":%d,"data":%d}' % (i, i))
            r = c.getresponse()
            assert r.status == 200
            assert json.loads(r.read()) == {"cmd": "x", "id": i, "data": i}
            c.request("POST", "/ws", body='{"cmd":"nope"}')
            r = c.getresponse()
            assert r.status == 404
            r.read()
            c.request("GET", "/healthz")
            r = c.getresponse()
            assert r.status == 200
            r.read()
            c.request("POST", "/ws", body='{"cmd":"nocontent"}')
            r = c.getresponse()
            assert r.status == 204
            r.read()
    finally:
        c.close()


def test_pipelined_requests(gateway):
    """Requests sent back to back before any answer (the first waits on a slow backend): all
    answered, in order."""
    bodies = [b'{"cmd":"slow200","id":1,"data":{}}', b'{"cmd":"x","id":2,"data":2}', b'{"cmd":"nope","id":3}']
    req = b"".join(b"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b) for b in bodies)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(req)
        f = BufferedSock(s)
        responses = [read_http_response_file(f) for _ in bodies]
    assert (responses[0][0], json.loads(responses[0][2])) == (200, {"cmd": "slow200", "id": 1, "data": {"ok": True}})
    assert (responses[1][0], json.loads(responses[1][2])) == (200, {"cmd": "x", "id": 2, "data": 2})
    assert responses[2][0] == 404 and json.loads(responses[2][2])["id"] == 3


def _slow_reader_post(port, body, close, pause=0.6):
    """POSTs `body`, then reads nothing for `pause` seconds with a tiny receive window (a slow mobile
    client), then reads the whole response. Returns (head, declared length, body bytes received)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    try:
        s.connect(("127.0.0.1", port))
        extra = b"Connection: close\r\n" if close else b""
        s.sendall(b"POST /ws HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s" % (extra, len(body), body))
        time.sleep(pause)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(5)
        data = b""
        while True:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    return head, int(m.group(1)), len(rest)
            try:
                chunk = s.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                return head, int(m.group(1)) if m else None, len(rest)
            data += chunk
    finally:
        s.close()


def test_large_response_to_slow_reader_keep_alive(gateway_factory, backend):
    g = gateway_factory(modules=[backend.module(routes={"big": backend.url("/big/4000000")})])
    head, declared, got = _slow_reader_post(g.port, b'{"cmd":"big","id":1,"data":{}}', close=False)
    assert head.startswith(b"HTTP/1.1 200")
    assert got == declared


def test_large_response_to_slow_reader_connection_close(gateway_factory, backend):
    """Same as above with `Connection: close`: the gateway closes after the response, which must not
    cut the response short (it gets closeTimeoutSeconds to flush)."""
    g = gateway_factory(modules=[backend.module(routes={"big": backend.url("/big/4000000")})])
    head, declared, got = _slow_reader_post(g.port, b'{"cmd":"big","id":1,"data":{}}', close=True)
    assert head.startswith(b"HTTP/1.1 200")
    assert got == declared, f"response truncated: {got} of {declared} body bytes"
