"""TLS on the public and admin listeners (DESIGN §9, README "TLS"): wss:// and https:// on both engines,
protocol versions and suites, ALPN, resumption, certificate rotation on SIGHUP, handshakes that stall or
send garbage, and https:// backends through libcurl."""
import asyncio
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from helpers import ADMIN_TOKEN, GATEWAY_BIN, call, run, wait_until, ws_connect


def make_certificate(directory, name, common_name="localhost"):
    """A self-signed P-256 certificate for localhost and 127.0.0.1: (cert path, key path)."""
    cert = os.path.join(directory, f"{name}-cert.pem")
    key = os.path.join(directory, f"{name}-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={common_name}",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tls"))
    return {"dir": d, "a": make_certificate(d, "a", "gateway-a"), "b": make_certificate(d, "b", "gateway-b")}


@pytest.fixture
def live_cert(certs, tmp_path):
    """Certificate files a test may overwrite (rotation): a copy of certificate a."""
    cert, key = str(tmp_path / "live-cert.pem"), str(tmp_path / "live-key.pem")
    shutil.copy(certs["a"][0], cert)
    shutil.copy(certs["a"][1], key)
    return cert, key


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def tls_settings(files, **extra):
    return {"cert": files[0], "key": files[1], **extra}


def peer_fingerprint(port, cafile):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(cert_path):
    der = ssl.PEM_cert_to_DER_cert(open(cert_path).read())
    return hashlib.sha256(der).hexdigest()


def s_client(port, *args, stdin=b"Q\n"):
    """`openssl s_client` against the gateway: (exit code, combined output)."""
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args],
                       input=stdin, capture_output=True, timeout=20)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def tls_handshakes(g):
    """`gateway_tls_handshakes_total` by result, from `/metrics`."""
    _, _, body = g.admin("GET", "/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("gateway_tls_handshakes_total{"):
            out[line.split('result="')[1].split('"')[0]] = int(line.split()[-1])
    return out


# ----------------------------------------------------------------------------------------------
# wss:// and https://

def test_wss_echo_through_backend_and_local(gateway_factory, backend, certs):
    g = gateway_factory(tls=tls_settings(certs["a"]))
    assert g.url().startswith("wss://")

    async def body():
        async with ws_connect(g.url().replace("127.0.0.1", "localhost"), ssl=client_context(certs["a"][0])) as ws:
            r = await call(ws, {"cmd": "echo", "id": 1, "data": {"through": "backend"}})
            assert r == {"cmd": "echo", "id": 1, "data": {"through": "backend"}}
            r = await call(ws, {"cmd": "local", "id": 2, "data": "x" * 200_000})
            assert r["data"] == "x" * 200_000   # many records each way
            r = await call(ws, {"cmd": "big", "id": 3})
            assert len(json.dumps(r["data"])) >= 300_000
    run(body())
    assert backend.records(path="/echo")


def test_https_post_healthz_and_alpn(gateway_factory, backend, certs):
    g = gateway_factory(tls=tls_settings(certs["a"]))
    status, _, body = g.http("GET", "/healthz")
    assert status == 200
    status, headers, body = g.http("POST", "/ws", body='{"cmd":"x","id":"h1","data":{"a":1}}',
                                   headers={"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body) == {"cmd": "x", "id": "h1", "data": {"a": 1}}
    # ALPN: http/1.1 is selected; a client that offers only h2 gets no_application_protocol.
    ctx = client_context(certs["a"][0])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as t:
        assert t.selected_alpn_protocol() == "http/1.1"
    ctx = client_context(certs["a"][0])
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
            ctx.wrap_socket(raw, server_hostname="localhost")
    # Plain HTTP to the TLS port is not answered in plaintext.
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        assert b"HTTP/1.1 200" not in data


def test_two_hundred_concurrent_wss_clients(gateway_factory, backend, certs):
    g = gateway_factory(tls=tls_settings(certs["a"]), admin=True, admin_tls=tls_settings(certs["a"]))
    ctx = client_context(certs["a"][0])

    async def one(i, opened, release):
        async with ws_connect(g.url().replace("127.0.0.1", "localhost"), ssl=ctx, open_timeout=30) as ws:
            for k in range(3):
                r = await call(ws, {"cmd": "local", "id": k, "data": f"client {i} message {k}"}, timeout=30)
                assert r["data"] == f"client {i} message {k}"
            opened.append(i)
            await release.wait()
            r = await call(ws, {"cmd": "echo", "id": "last", "data": i}, timeout=30)
            assert r["data"] == i

    async def body():
        opened, release = [], asyncio.Event()
        tasks = [asyncio.create_task(one(i, opened, release)) for i in range(200)]
        while len(opened) < 200:
            done = [t for t in tasks if t.done() and t.exception()]
            if done:
                raise done[0].exception()
            await asyncio.sleep(0.05)
        stats = await asyncio.to_thread(g.stats)   # the admin API over TLS too
        assert stats["connections"]["websockets"] == 200
        release.set()
        await asyncio.gather(*tasks)
    run(body(), timeout=120)
    counts = tls_handshakes(g)
    assert counts["full"] + counts["resumed"] >= 201 and counts["failed"] == 0, counts


def test_wss_fan_out_burst_arrives_whole_and_in_order(gateway_factory, backend, certs):
    """A burst of broadcasts queues many small shared frames per recipient; the gateway gathers
    them into few TLS records. Every recipient still gets every message, whole and in order."""
    routes = dict(backend.routes(), all={"local": "echo", "deliver": "all"})
    g = gateway_factory(tls=tls_settings(certs["a"]), modules=[backend.module(routes=routes)])
    ctx = client_context(certs["a"][0])
    count, receivers = 300, 5

    async def body():
        url = g.url().replace("127.0.0.1", "localhost")
        listeners = [await ws_connect(url, ssl=ctx).__aenter__() for _ in range(receivers)]
        async with ws_connect(url, ssl=ctx) as sender:
            for i in range(count):
                await sender.send(json.dumps({"cmd": "all", "data": {"n": i, "pad": "p" * (i % 97)}}))
            for ws in listeners:
                got = []
                while len(got) < count:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    got.append(m["data"]["n"])
                    assert m["data"]["pad"] == "p" * (m["data"]["n"] % 97)
                assert got == list(range(count))
        for ws in listeners:
            await ws.close()
    run(body(), timeout=120)


def test_admin_listener_over_tls(gateway_factory, certs):
    g = gateway_factory(admin=True, admin_tls=tls_settings(certs["b"]))
    assert not g.tls and g.admin_tls
    assert g.stats()["connections"]["open"] >= 0
    ctx = client_context(certs["b"][0])
    with socket.create_connection(("127.0.0.1", g.admin_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as t:
        t.sendall(f"GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
        assert t.recv(64).startswith(b"HTTP/1.1 200")
    # The public listener stays plain.
    assert g.http("GET", "/healthz")[0] == 200


# ----------------------------------------------------------------------------------------------
# versions, suites, resumption

def test_protocol_versions_and_suites(gateway_factory, certs):
    g = gateway_factory(tls=tls_settings(certs["a"]))
    for flag in ("-tls1", "-tls1_1"):
        rc, out = s_client(g.port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        assert rc != 0 and "alert protocol version" in out, (flag, out[-2000:])
    rc, out = s_client(g.port, "-tls1_2")
    assert rc == 0 and "Protocol  : TLSv1.2" in out, out[-2000:]
    assert "Cipher    : ECDHE-" in out and "GCM" in out, out[-2000:]
    # (TLS 1.3: s_client prints its session block only once the ticket arrives, which may be after it
    # has quit; the "New, TLSv1.3" line comes with the handshake.)
    rc, out = s_client(g.port, "-tls1_3")
    assert rc == 0 and "New, TLSv1.3, Cipher is TLS_" in out, out[-2000:]
    # No CBC suite and no suite without forward secrecy, even when that is all a client offers.
    for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256", "AES128-SHA"):
        rc, out = s_client(g.port, "-tls1_2", "-cipher", suite)
        assert rc != 0, (suite, out[-2000:])
    rc, out = s_client(g.port, "-tls1_2", "-alpn", "http/1.1")
    assert "ALPN protocol: http/1.1" in out, out[-2000:]


def test_min_version_1_3(gateway_factory, certs):
    g = gateway_factory(tls=tls_settings(certs["a"], minVersion="1.3"))
    rc, out = s_client(g.port, "-tls1_2")
    assert rc != 0 and "alert protocol version" in out, out[-2000:]
    rc, out = s_client(g.port, "-tls1_3")
    assert rc == 0 and "New, TLSv1.3" in out


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption(gateway_factory, certs, version):
    g = gateway_factory(tls=tls_settings(certs["a"]))
    ctx = client_context(certs["a"][0])
    ctx.minimum_version = ctx.maximum_version = version
    session, reused = None, []
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost", session=session) as t:
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert t.recv(64).startswith(b"HTTP/1.1 200")   # TLS 1.3 tickets arrive with the data
            reused.append(t.session_reused)
            session = t.session
    assert reused == [False, True, True]


# ----------------------------------------------------------------------------------------------
# certificate rotation

def test_sighup_rotates_certificate_and_keeps_it_on_a_bad_file(gateway_factory, certs, live_cert):
    g = gateway_factory(tls=tls_settings(live_cert))
    a_print, b_print = file_fingerprint(certs["a"][0]), file_fingerprint(certs["b"][0])
    assert peer_fingerprint(g.port, None) == a_print
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    async def body():
        async with ws_connect(g.url(), ssl=ctx) as ws:
            assert (await call(ws, {"cmd": "local", "id": 1, "data": "before"}))["data"] == "before"
            shutil.copy(certs["b"][0], live_cert[0])
            shutil.copy(certs["b"][1], live_cert[1])
            g.proc.send_signal(signal.SIGHUP)
            await asyncio.to_thread(wait_until, lambda: "tls: loaded" in g.log(), 5, 0.02, "the reload")
            assert await asyncio.to_thread(peer_fingerprint, g.port, None) == b_print
            # The open connection keeps going on its old session.
            assert (await call(ws, {"cmd": "local", "id": 2, "data": "after"}))["data"] == "after"
            # A bad certificate on SIGHUP is logged; the one in use stays.
            with open(live_cert[0], "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
            g.proc.send_signal(signal.SIGHUP)
            await asyncio.to_thread(wait_until, lambda: "keeping the certificate in use" in g.log(), 5, 0.02, "the refusal")
            assert await asyncio.to_thread(peer_fingerprint, g.port, None) == b_print
            assert (await call(ws, {"cmd": "local", "id": 3, "data": "still"}))["data"] == "still"
    run(body())


# ----------------------------------------------------------------------------------------------
# handshakes that stall or send garbage

def client_hello_bytes():
    """The first flight of a real TLS client (a ClientHello), made with in-memory BIOs."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_garbage_and_half_handshakes_are_cleaned_up(gateway_factory, certs):
    g = gateway_factory(tls=tls_settings(certs["a"]), limits={"handshakeTimeoutSeconds": 2}, admin=True)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # Warm up (first TLS read allocates the loop's scratch buffer) before the baseline.
    assert peer_fingerprint(g.port, None)
    time.sleep(0.3)
    baseline = g.fd_count()
    hello = client_hello_bytes()
    socks, started = [], time.monotonic()
    for i in range(60):
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        kind = i % 4
        if kind == 0:
            s.sendall(b"\x16\x03\x01\x00\x05garbage that is not a handshake" * 10)
        elif kind == 1:
            # Random bytes after a header no TLS record can have. The header is fixed because
            # random bytes are not always refused at once: 0x16 (handshake) with a long length
            # waits for the rest; a first byte with the high bit set and a third byte of 1 reads as
            # an SSLv2 ClientHello of up to 32 KB, which OpenSSL waits for (a CI run counted 29
            # failures); version major 3 with a long length waits too. 0xff 0xfe 0x00 is none of
            # these (record type 0xff, version 0xfe00) and is refused on the header.
            s.sendall(b"\xff\xfe\x00" + os.urandom(3997))
        elif kind == 2:
            s.sendall(hello[: len(hello) // 2])   # half a ClientHello, then nothing
        # kind 3: connects and sends nothing
        socks.append((kind, s))
    # Garbage is refused at once (an alert or a close); stalled handshakes end at the timeout.
    for kind, s in socks:
        s.settimeout(6)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"stalled handshakes were not cut at the 2 s timeout ({elapsed:.1f} s)"
    for _, s in socks:
        s.close()
    wait_until(lambda: g.fd_count() <= baseline, timeout=5, what=f"fds back to {baseline} (now {g.fd_count()})")
    assert tls_handshakes(g)["failed"] >= 30   # the garbage ones; stalled ones time out, not fail

    # Everyone else is still served.
    async def body():
        async with ws_connect(g.url(), ssl=ctx) as ws:
            assert (await call(ws, {"cmd": "local", "id": 1, "data": "ok"}))["data"] == "ok"
    run(body())


# ----------------------------------------------------------------------------------------------
# start-up errors

def test_bad_certificate_refuses_to_start(certs, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    cfg = {"listen": "127.0.0.1:0", "tls": {"cert": str(bad), "key": certs["a"][1]},
           "modules": [{"path": "/ws", "parser": "raw", "routes": {"*": {"local": "echo"}}}]}
    path = tmp_path / "gw.json"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([GATEWAY_BIN, "serve", "--config", str(path)], capture_output=True, timeout=20)
    assert p.returncode == 1
    assert "tls: certificate" in (p.stdout + p.stderr).decode()
    # A key that does not belong to the certificate.
    cfg["tls"] = {"cert": certs["a"][0], "key": certs["b"][1]}
    path.write_text(json.dumps(cfg))
    p = subprocess.run([GATEWAY_BIN, "serve", "--config", str(path)], capture_output=True, timeout=20)
    assert p.returncode == 1 and "tls: key" in (p.stdout + p.stderr).decode()
    # check-config names an unreadable file and a bad version with their JSON paths.
    cfg["tls"] = {"cert": "/nonexistent/cert.pem", "key": certs["a"][1], "minVersion": "1.1"}
    path.write_text(json.dumps(cfg))
    p = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(path)], capture_output=True, timeout=20)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode != 0
    assert "tls.cert" in out and "/nonexistent/cert.pem" in out
    assert "tls.minVersion" in out


# ----------------------------------------------------------------------------------------------
# https:// backends through libcurl

class _EchoHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _start_https_backend(certs, client_ca=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certs["b"])
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED   # mutual TLS: a client certificate signed by client_ca
        ctx.load_verify_locations(client_ca)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def https_backend(certs):
    server = _start_https_backend(certs)
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def mtls_backend(certs):
    server = _start_https_backend(certs, client_ca=certs["a"][0])
    yield server.server_address[1]
    server.shutdown()


def test_https_backend_with_a_private_ca(gateway_factory, backend, certs, https_backend):
    routes = {"secure": f"https://localhost:{https_backend}/echo"}
    g = gateway_factory(modules=[backend.module(routes=routes)], io={"backendTLS": {"caFile": certs["b"][0]}})

    async def body():
        async with ws_connect(g.url()) as ws:
            r = await call(ws, {"cmd": "secure", "id": 1, "data": {"over": "https"}})
            assert r == {"cmd": "secure", "id": 1, "data": {"over": "https"}}
    run(body())


def test_https_backend_with_an_unknown_ca_is_an_error(gateway_factory, backend, certs, https_backend):
    routes = {"secure": f"https://localhost:{https_backend}/echo"}
    g = gateway_factory(modules=[backend.module(routes=routes)])

    async def body():
        async with ws_connect(g.url()) as ws:
            r = await call(ws, {"cmd": "secure", "id": 1, "data": {}})
            assert "error" in r, r
    run(body())


def test_https_backend_with_a_client_certificate(gateway_factory, backend, certs, mtls_backend):
    """io.backendTLS cert/key: the gateway presents a client certificate to a backend that requires one;
    without it the same backend refuses the call."""
    routes = {"secure": f"https://localhost:{mtls_backend}/echo"}
    with_cert = gateway_factory(modules=[backend.module(routes=routes)], io={"backendTLS": {
        "caFile": certs["b"][0], "cert": certs["a"][0], "key": certs["a"][1]}})
    without = gateway_factory(modules=[backend.module(routes=routes)], io={"backendTLS": {"caFile": certs["b"][0]}})

    async def body():
        async with ws_connect(with_cert.url()) as ws:
            r = await call(ws, {"cmd": "secure", "id": 1, "data": {"mutual": True}})
            assert r == {"cmd": "secure", "id": 1, "data": {"mutual": True}}
        async with ws_connect(without.url()) as ws:
            r = await call(ws, {"cmd": "secure", "id": 2, "data": {}})
            assert "error" in r, r
    run(body())
