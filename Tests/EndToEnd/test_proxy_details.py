"""Reverse-proxy details of `http[]` prefixes (README "Plain HTTP", RFC 9110 §7.6): hop-by-hop request
and response fields are not forwarded (the fixed list and the names listed in `Connection`), client
`Gateway-*` fields are not forwarded, `X-Forwarded-For` is appended to, `X-Forwarded-Host`,
`X-Forwarded-Proto` and `Forwarded` are added; chunked request and response bodies are streamed;
`HEAD` has no body; a backend that dies mid-response drops the client connection at once; and
`Expect: 100-continue` gets `100 Continue` before the client sends the body."""
import json
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

import pytest

from helpers import BufferedSock, read_http_response, read_http_response_file


class SpecialBackend(socketserver.ThreadingTCPServer):
    """Answers what backend.py cannot: a chunked response that waits (to prove streaming) and a
    response cut off by a TCP reset."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SpecialHandler)
        self.release = threading.Event()
        self.port = self.server_address[1]


class SpecialHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        path = data.split(b" ", 2)[1].decode()
        if path.startswith("/chunked"):
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n6\r\nfirst-\r\n")
            self.server.release.wait(5)
            s.sendall(b"7\r\nsecond-\r\n5\r\nthird\r\n0\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.2)
        elif path.startswith("/reset-mid"):
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
                      + b"z" * 5000)
            time.sleep(0.2)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


@pytest.fixture
def special():
    srv = SpecialBackend()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def gw(gateway_factory, backend, special):
    return gateway_factory(http_routes=[
        {"prefix": "/api/", "url": backend.url("/proxy/")},
        {"prefix": "/hdr/", "url": backend.url("/headers")},
        {"prefix": "/resp/", "url": backend.url("/respond")},
        {"prefix": "/echo/", "url": backend.url("/echo")},
        {"prefix": "/big/", "url": backend.url("/big/")},
        {"prefix": "/sp/", "url": f"http://127.0.0.1:{special.port}/", "timeoutMs": 10000},
    ])


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _raw(port, request):
    with _connect(port) as s:
        s.sendall(request)
        return read_http_response(s)


def _forwarded_pairs(value):
    """RFC 7239 `Forwarded` element -> {name: value} (quotes removed)."""
    out = {}
    for pair in value.split(";"):
        k, _, v = pair.strip().partition("=")
        out[k.lower()] = v[1:-1] if v.startswith('"') and v.endswith('"') else v
    return out


def test_request_hop_by_hop_and_forwarding_headers(gw, backend):
    req = (b"GET /hdr/ HTTP/1.1\r\n"
           b"Host: example.test:8443\r\n"
           b"Connection: keep-alive, X-Hop-One, x-hop-two\r\n"
           b"X-Hop-One: 1\r\n"
           b"X-Hop-Two: 2\r\n"
           b"Keep-Alive: timeout=5, max=10\r\n"
           b"TE: trailers\r\n"
           b"Upgrade: h2c\r\n"
           b"Proxy-Connection: keep-alive\r\n"
           b"Gateway-Foo: x\r\n"
           b"gateway-user: forged\r\n"
           b"X-Forwarded-For: 10.0.0.1\r\n"
           b"X-Forwarded-For: 10.0.0.2\r\n"
           b"X-Keep: yes\r\n\r\n")
    status, _, body = _raw(gw.port, req)
    assert status == 200, body
    seen = json.loads(body)
    names = [k.lower() for k, _ in seen["list"]]
    h = seen["headers"]
    for hop in ("x-hop-one", "x-hop-two", "keep-alive", "te", "upgrade", "proxy-connection"):
        assert hop not in names, f"hop-by-hop {hop} was forwarded: {seen['list']}"
    assert "x-hop" not in h.get("connection", "").lower(), h.get("connection")
    assert not [n for n in names if n.startswith("gateway-")], f"Gateway-* forwarded: {seen['list']}"
    assert h.get("x-keep") == "yes"
    assert names.count("x-forwarded-for") == 1, seen["list"]
    assert h["x-forwarded-for"] == "10.0.0.1, 10.0.0.2, 127.0.0.1"
    assert h.get("x-forwarded-host") == "example.test:8443"
    assert h.get("x-forwarded-proto") == "http"
    fwd = _forwarded_pairs(h["forwarded"])
    assert fwd.get("for") == "127.0.0.1" and fwd.get("proto") == "http" and fwd.get("host") == "example.test:8443", \
        h["forwarded"]
    # Without a client X-Forwarded-For the gateway starts one.
    status, _, body = _raw(gw.port, b"GET /hdr/ HTTP/1.1\r\nHost: h\r\n\r\n")
    assert json.loads(body)["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_client_x_forwarded_host_and_proto_not_duplicated(gw):
    """Like X-Forwarded-For (one field, the gateway's value appended), X-Forwarded-Host and
    X-Forwarded-Proto must reach the backend as one field whose last value is what the gateway saw."""
    status, _, body = _raw(gw.port, b"GET /hdr/ HTTP/1.1\r\nHost: real.example\r\nX-Forwarded-Host: evil.example\r\n"
                                    b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n")
    assert status == 200
    lst = json.loads(body)["list"]
    for name, own in (("x-forwarded-for", "127.0.0.1"), ("x-forwarded-host", "real.example"),
                      ("x-forwarded-proto", "http")):
        values = [v for k, v in lst if k.lower() == name]
        assert len(values) == 1, f"{name}: {len(values)} field lines reach the backend: {values}"
        assert values[0].split(",")[-1].strip() == own, f"{name}: {values[0]!r}"


def _respond_path(*headers, body="ok"):
    return "/resp/?" + urllib.parse.urlencode([("h", h) for h in headers] + [("body", body), ("ct", "text/plain")])


def test_response_hop_by_hop_headers_dropped(gw):
    path = _respond_path("Keep-Alive: timeout=9", "Proxy-Connection: keep-alive", "Upgrade: h2c",
                         "Trailer: X-T", "X-Resp-Keep: yes")
    status, headers, body = _raw(gw.port, f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert (status, body) == (200, b"ok")
    for hop in ("keep-alive", "proxy-connection", "upgrade", "trailer"):
        assert hop not in headers, f"response hop-by-hop {hop} passed through: {headers}"
    assert headers.get("x-resp-keep") == "yes"


def test_response_connection_listed_headers_dropped(gw):
    path = _respond_path("Connection: X-Resp-Hop", "X-Resp-Hop: 1", "X-Resp-Keep: yes")
    status, headers, body = _raw(gw.port, f"GET {path} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert (status, body) == (200, b"ok") and headers.get("x-resp-keep") == "yes"
    assert "x-resp-hop" not in headers, f"X-Resp-Hop (listed in the backend's Connection) passed through: {headers}"
    assert "x-resp-hop" not in headers.get("connection", "").lower()


def _read_chunked_body(f, on_chunk=None):
    body = b""
    while True:
        size = int(f.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while f.readline() not in (b"\r\n", b""):
                pass
            return body
        chunk = f.read(size)
        assert f.read(2) == b"\r\n"
        body += chunk
        if on_chunk:
            on_chunk(body)


def test_chunked_upload_streamed(gw, backend):
    pieces = [b"alpha-", b"x" * 70000, b"-omega"]
    with _connect(gw.port) as s:
        s.sendall(b"POST /echo/ HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for p in pieces:
            s.sendall(b"%x\r\n" % len(p) + p + b"\r\n")
            time.sleep(0.05)
        s.sendall(b"0\r\n\r\n")
        f = BufferedSock(s)
        status, headers, body = read_http_response_file(f)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked_body(f)
    assert status == 200
    assert body == b"".join(pieces)
    [rec] = backend.records(path="/echo")
    assert rec["body"] == b"".join(pieces).decode()


def test_chunked_download_streamed(gw, special):
    """The backend sends a first chunk and waits: the client must see it before the backend goes on."""
    try:
        with _connect(gw.port) as s:
            s.sendall(b"GET /sp/chunked HTTP/1.1\r\nHost: h\r\n\r\n")
            f = BufferedSock(s)
            status_line = f.readline()
            assert status_line.startswith(b"HTTP/1.1 200"), status_line
            headers = {}
            while (line := f.readline()) not in (b"\r\n", b""):
                k, _, v = line.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            assert headers.get("transfer-encoding", "").lower() == "chunked", headers
            assert "content-length" not in headers
            got_first = []

            def on_chunk(body):
                if not got_first:
                    got_first.append(body)
                    special.release.set()
            s.settimeout(3)  # the backend holds the rest back for 5 s: reading must not wait for it
            body = _read_chunked_body(f, on_chunk)
    finally:
        special.release.set()
    assert got_first == [b"first-"]
    assert body == b"first-second-third"


def test_chunked_download_to_an_http10_client(gw, special):
    """An HTTP/1.0 client does not understand chunked: the body is delimited by closing instead."""
    special.release.set()
    with _connect(gw.port) as s:
        s.sendall(b"GET /sp/chunked HTTP/1.0\r\nHost: h\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
    assert b"transfer-encoding" not in head.lower(), head
    assert body == b"first-second-third"


def test_head_has_no_body(gw, backend):
    with _connect(gw.port) as s:
        s.sendall(b"HEAD /big/5000 HTTP/1.1\r\nHost: h\r\n\r\n")
        f = BufferedSock(s)
        status_line = f.readline()
        assert status_line.startswith(b"HTTP/1.1 200"), status_line
        headers = {}
        while (line := f.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        assert headers.get("content-length") == "5000", headers
        # No body bytes follow: the next response on this keep-alive connection starts right away.
        # The next request is the sentinel: responses come in order on the connection, so body bytes
        # sent for the HEAD would arrive before its status line, however late they were sent.
        assert f.buf == b"", f"bytes after a HEAD response: {f.buf[:100]!r}"
        s.settimeout(5)
        s.sendall(b"GET /api/after HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body = read_http_response_file(f)  # fails on a "status line" that starts with body bytes
        assert status == 200 and json.loads(body)["path"] == "/proxy/after"
    assert [r["method"] for r in backend.records(prefix="/big/")] == ["HEAD"]


def test_backend_reset_mid_response_drops_the_client(gw):
    t0 = time.monotonic()
    with _connect(gw.port) as s:
        s.sendall(b"GET /sp/reset-mid HTTP/1.1\r\nHost: h\r\n\r\n")
        s.settimeout(8)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                pytest.fail(f"client connection still open {time.monotonic() - t0:.1f}s after the backend reset "
                            f"(got {len(data)} bytes)")
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data[:200]
    assert b"content-length: 100000" in head.lower()
    assert len(body) < 100000, "the whole body arrived although the backend reset"
    assert elapsed < 5, f"dropped only after {elapsed:.1f}s (route timeout 10 s): it waited instead of dropping"
    assert gw.http("GET", "/api/still")[0] == 200


@pytest.mark.parametrize("path,body,expected", [
    ("/echo/", b"hello world", b"hello world"),
    ("/ws", b'{"cmd":"x","id":1,"data":[1]}', b'{"cmd":"x","id":1,"data":[1]}'),
])
def test_expect_100_continue(gw, backend, path, body, expected):
    with _connect(gw.port) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        f = BufferedSock(s)
        s.settimeout(2)
        try:
            first = f.readline()
        except socket.timeout:
            pytest.fail("no 100 Continue within 2 s; the client would wait before sending the body")
        assert first.startswith(b"HTTP/1.1 100"), first
        assert f.readline() == b"\r\n"
        s.settimeout(5)
        s.sendall(body)
        status, _, got = read_http_response_file(f)
    assert (status, got) == (200, expected)
    [rec] = backend.records(path="/echo")
    assert rec["body"].encode() == (body if path != "/ws" else b"[1]")
    assert "expect" not in {k.lower() for k, _ in rec["headers"]}
