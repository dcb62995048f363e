"""Fixtures for the gateway's end-to-end tests.

- `backend` (session): the real HTTP/1.1 backend (backend.py) as a subprocess on a free loopback port.
- `engine`: parametrized from E2E_ENGINES (default "io_uring epoll"); every gateway test runs under each.
- `gateway_factory`: writes a config, starts the real gateway binary (GATEWAY_BIN) with
  `--io-engine <engine>`, waits for `/healthz`, and on teardown sends SIGTERM, requires exit code 0
  within 15 s and fails the test if the gateway's log shows a crash.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

import pytest

from helpers import ADMIN_TOKEN, GATEWAY_BIN, fd_breakdown, fd_count, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = (os.environ.get("E2E_ENGINES") or "io_uring epoll").split()

CRASH_MARKERS = ("Fatal error", "Segmentation fault", "SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL",
                 "Illegal instruction", "Precondition failed", "Assertion failed", "Program crashed",
                 "Current stack trace", "Aborted (core dumped)", "AddressSanitizer", "LeakSanitizer",
                 "ThreadSanitizer")

# Defaults that keep the suite fast: short timeouts everywhere.
DEFAULT_LIMITS = {
    "backendTimeoutMs": 3000,
    "closeTimeoutSeconds": 2,
    "drainTimeoutSeconds": 5,
    "handshakeTimeoutSeconds": 5,
}


# ----------------------------------------------------------------------------------------------
# reports on the item, so fixtures can print logs when a test failed

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# ----------------------------------------------------------------------------------------------
# backend

class Backend:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        # A loopback port where nothing listens (for backend_unavailable). The socket stays bound without
        # listening for the whole session, so no gateway or other process can take the port meanwhile
        # (a port that was merely free once was sometimes reused, turning "refused" into a 404).
        self._dead = socket.socket()
        self._dead.bind(("127.0.0.1", 0))
        self.dead_port = self._dead.getsockname()[1]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def dead_url(self, path="/nothing"):
        return f"http://127.0.0.1:{self.dead_port}{path}"

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def get_json(self, path):
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def records(self, since=0, path=None, prefix=None, conn=None):
        q = {"since": since}
        if path is not None:
            q["path"] = path
        if prefix is not None:
            q["prefix"] = prefix
        if conn is not None:
            q["conn"] = conn
        return self.get_json("/recorded/all?" + urllib.parse.urlencode(q))

    def count(self):
        return self.get_json("/recorded/count")["count"]

    def disconnects(self):
        return self.get_json("/recorded/disconnect")

    def clear(self):
        status, _ = self.request("POST", "/recorded/clear", b"")
        assert status == 200

    def wait_records(self, n=1, timeout=5.0, **filters):
        return wait_until(lambda: (lambda r: r if len(r) >= n else None)(self.records(**filters)),
                          timeout=timeout, what=f"{n} backend request(s) matching {filters}")

    def wait_done(self, timeout=5.0, **filters):
        """Waits until every recorded request matching `filters` has been answered (or its handler has
        returned because the peer went away): the backend has nothing more to send for them."""
        return wait_until(lambda: (lambda r: r if all(x["done"] is not None for x in r) else None)(
            self.records(**filters)), timeout=timeout, what=f"backend requests matching {filters} to be done")

    def wait_disconnect(self, connection_id, timeout=5.0):
        def find():
            for d in self.disconnects():
                if d.get("connectionId") == connection_id:
                    return d
            return None
        return wait_until(find, timeout=timeout, what=f"disconnect hook for {connection_id}")

    # Standard modules ------------------------------------------------------------------------

    def routes(self):
        """The command map most tests use."""
        u = self.url
        return {
            "x": u("/echo"),
            "echo": u("/echo"),
            "text": u("/text"),
            "binary": u("/binary"),
            "badjson": u("/badjson"),
            "headers": u("/headers"),
            "nocontent": u("/no-content"),
            "slow0": u("/slow/0"),
            "slow10": u("/slow/10"),
            "slow30": u("/slow/30"),
            "slow60": u("/slow/60"),
            "slow200": u("/slow/200"),
            "slow500": u("/slow/500"),
            "slow1000": u("/slow/1000"),
            "timeout": {"url": u("/slow/2000"), "timeoutMs": 200},
            "down": self.dead_url("/x"),
            "err500": u("/status/500"),
            "err404": u("/status/404"),
            "garbage": u("/garbage"),
            "reset": u("/reset"),
            "big": u("/big/300000"),
            "huge": u("/big/5000"),
            "local": {"local": "echo"},
        }

    def module(self, path="/ws", routes=None, **kw):
        m = {"path": path, "parser": "json", "routes": routes if routes is not None else self.routes()}
        m.update(kw)
        return m


@pytest.fixture(scope="session")
def backend():
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "backend.py"), "0"],
                            stdout=subprocess.PIPE, stderr=None, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"backend did not start: {line!r}")
    b = Backend(proc, int(line.split()[1]))
    yield b
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(autouse=True)
def _fresh_backend_records(backend):
    backend.clear()
    assert backend.proc.poll() is None, "the backend process died"
    yield
    assert backend.proc.poll() is None, "the backend process died during the test"


# ----------------------------------------------------------------------------------------------
# gateway

@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


class Gateway:
    def __init__(self, proc, port, log_path, config_path, engine):
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.config_path = config_path
        self.engine = engine
        self.expected_exit = None   # set by a test that ends the process itself
        self.admin_port = None
        self.tls = False            # the public listener serves TLS (wss://, https://)
        self.admin_tls = False

    def admin(self, method, path, body=None, token=ADMIN_TOKEN, timeout=10):
        """A request to the admin API: (status, headers, body bytes)."""
        c = _http_connection(self.admin_port, self.admin_tls, timeout)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                headers["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def admin_json(self, method, path, body=None):
        status, _, data = self.admin(method, path, body)
        assert status == 200, (method, path, status, data)
        return json.loads(data)

    def stats(self):
        """`GET /v1/stats` (needs `admin=True`)."""
        return self.admin_json("GET", "/v1/stats")

    def metric(self, name):
        """The value of an unlabelled sample in `GET /metrics` (needs `admin=True`)."""
        _, _, body = self.admin("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no sample {name} in /metrics")

    def wait_hooks_idle(self, delivered, timeout=5.0):
        """Waits until the gateway has no hook waiting or in flight and has delivered at least
        `delivered`; returns `/v1/stats` "hooks". From then on no attempt can be made for a hook queued
        before this call, so counts taken at the backend are final (a sentinel, not a sleep)."""
        seen = [None]

        def idle():
            seen[0] = h = self.stats()["hooks"]
            return h if h["pending"] == 0 and h["delivered"] >= delivered else None
        try:
            return wait_until(idle, timeout=timeout, what=f"no hook pending and at least {delivered} delivered")
        except AssertionError as e:
            raise AssertionError(f"{e}; last hooks stats {seen[0]}") from None

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path="/ws"):
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}{path}"

    def http_url(self, path="/"):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def fd_count(self):
        return fd_count(self.pid)

    def fd_breakdown(self, backend_port):
        return fd_breakdown(self.pid, self.port, backend_port)

    def http(self, method, path, body=None, headers=None, timeout=10):
        c = _http_connection(self.port, self.tls, timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def sigterm(self):
        self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code, or None if it did not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def crash_lines(self):
        return [line for line in self.log().splitlines() if any(m in line for m in CRASH_MARKERS)]


def _http_connection(port, tls, timeout):
    """A connection to the gateway on loopback; over TLS without checking the test certificate (the
    TLS tests check certificates themselves)."""
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ssl._create_unverified_context())
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def _healthy(port, tls=False):
    try:
        c = _http_connection(port, tls, 1)
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False


@pytest.fixture
def gateway_factory(engine, backend, tmp_path, request):
    started = []

    def start(modules=None, limits=None, io=None, http_routes=None, args=(), env=None,
              engine_flag=True, config=None, admin=False, preexec_fn=None, tls=None, admin_tls=None, upstreams=None):
        for attempt in range(3):
            port = free_port()
            admin_port = free_port() if admin else None
            if config is None:
                cfg = {"listen": f"127.0.0.1:{port}",
                       "limits": {**DEFAULT_LIMITS, **(limits or {})},
                       "modules": modules if modules is not None else [backend.module()]}
                if io is not None:
                    cfg["io"] = io
                if http_routes is not None:
                    cfg["http"] = http_routes
                if upstreams is not None:
                    cfg["upstreams"] = upstreams
                if admin:
                    cfg["admin"] = {"listen": f"127.0.0.1:{admin_port}", "token": ADMIN_TOKEN}
                    if admin_tls is not None:
                        cfg["admin"]["tls"] = admin_tls
                if tls is not None:
                    cfg["tls"] = tls
            else:
                cfg = dict(config)
                cfg["listen"] = f"127.0.0.1:{port}"
            n = len(started)
            config_path = tmp_path / f"gateway-{n}-{attempt}.json"
            config_path.write_text(json.dumps(cfg, indent=2))
            log_path = tmp_path / f"gateway-{n}-{attempt}.log"
            cmd = [GATEWAY_BIN, "serve", "--config", str(config_path)]
            if engine_flag:
                cmd += ["--io-engine", engine]
            cmd += list(args)
            penv = dict(os.environ)
            penv.pop("GATEWAY_IO_ENGINE", None)
            penv.update(env or {})
            with open(log_path, "wb") as logf:
                # preexec_fn: runs in the child before exec (e.g. setrlimit, a seccomp filter).
                proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=penv, preexec_fn=preexec_fn)
            g = Gateway(proc, port, str(log_path), str(config_path), engine)
            g.admin_port = admin_port
            g.tls = "tls" in cfg
            g.admin_tls = "tls" in cfg.get("admin", {})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if _healthy(port, g.tls) and (admin_port is None or _healthy(admin_port, g.admin_tls)):
                    started.append(g)
                    return g
                time.sleep(0.02)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                pytest.fail(f"gateway did not become healthy on port {port} within 15 s:\n{g.log()}")
            if "in use" in g.log() and attempt < 2:
                continue  # lost a race for the port: try another one
            pytest.fail(f"gateway exited with {proc.returncode} during start-up:\n{g.log()}")
        pytest.fail("could not start the gateway")

    yield start

    problems = []
    for g in started:
        if g.proc.poll() is None:
            rc = g.stop(15)
            if rc is None:
                g.proc.kill()
                g.proc.wait()
                problems.append(f"gateway pid {g.pid} did not exit within 15 s of SIGTERM")
            elif rc != 0:
                problems.append(f"gateway pid {g.pid} exited with {rc} after SIGTERM (expected 0)")
        else:
            rc = g.proc.returncode
            expected = 0 if g.expected_exit is None else g.expected_exit
            if rc != expected:
                problems.append(f"gateway pid {g.pid} exited with {rc} (expected {expected})")
        crashes = g.crash_lines()
        if crashes:
            problems.append(f"gateway pid {g.pid} log shows a crash: {crashes[:5]}")
    failed = any(getattr(request.node, "rep_" + w, None) is not None and getattr(request.node, "rep_" + w).failed
                 for w in ("setup", "call"))
    if failed or problems:
        for g in started:
            print(f"\n----- gateway log ({g.engine}, pid {g.pid}, port {g.port}) {g.log_path} -----")
            print(g.log()[-20000:])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def gateway(gateway_factory):
    """A gateway with the standard json module at /ws."""
    return gateway_factory()

