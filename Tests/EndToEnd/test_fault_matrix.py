"""The fault matrix: what a misbehaving backend, client or process environment can do to the gateway,
one test per fault, under every engine in E2E_ENGINES (the table is in README.md).

Every row asserts three things:
 (a) the faulty party gets the documented outcome (error code and status, close code, HTTP status);
 (b) no reply is lost or duplicated: bystander clients keep sending numbered messages through a healthy
     route (`x` -> backend /echo) for the whole fault and must get every reply exactly once, in order
     (`Bystander`); backend faults are also interleaved with healthy messages on the faulty connection;
 (c) the gateway keeps running (it serves afterwards) and its descriptors return to the baseline taken
     before the fault (`fds_settled`).
"""
import base64
import contextlib
import errno
import json
import os
import re
import resource
import select
import socket
import struct
import subprocess
import threading
import time
import urllib.parse

import pytest

from helpers import (GATEWAY_BIN, BufferedSock, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawWS,
                     encode_frame, free_port, handshake_request, read_http_response, wait_until)

FAULT_TIMEOUT_MS = 300          # route timeout where the fault is a timeout (hang)
# Route timeout of the other faulty routes: short, but long enough that a loaded machine's slow Python
# backend does not turn an expected `backend_error` into a `backend_timeout`.
OTHER_FAULT_TIMEOUT_MS = 2000
RESPONSE_LIMIT = 65536          # limits.maxBackendResponseBytes in the backend-fault tests
BACKEND_POOL_MAX = 16           # idle keep-alive connections to the backend a test may leave behind
BYSTANDER_MAX_LATENCY = 2.0     # seconds; a bystander reply slower than this means the fault stalled others
SENTINEL_ID = "sentinel"        # id of the last message on a connection whose reply proves nothing else is due


# ----------------------------------------------------------------------------------------------
# raw-client helpers

def _send_json(c, obj):
    c.send_frame(OP_TEXT, json.dumps(obj, separators=(",", ":")).encode())


def read_replies(c, n, timeout=5.0):
    """n text frames as parsed JSON (answers pings; fails on a close frame or EOF)."""
    deadline = time.monotonic() + timeout
    out = []
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(out)} of {n} replies within {timeout}s: {out}"
        try:
            fin, op, payload = c.recv_frame(left)
        except socket.timeout:
            continue
        except (EOFError, ConnectionResetError) as e:
            raise AssertionError(f"connection ended after {len(out)} of {n} replies: {e!r}")
        if op == OP_PING:
            c.send_frame(OP_PONG, payload)
            continue
        assert op != OP_CLOSE, f"closed by the gateway after {len(out)} of {n} replies: {payload!r}"
        assert op == OP_TEXT and fin, f"unexpected frame opcode {op} fin {fin}: {payload[:200]!r}"
        out.append(json.loads(payload))
    return out


def assert_no_more_frames(c, timeout=5.0):
    """Nothing else is on its way: a sentinel message goes out and the next frame must be its reply.
    Replies come in the order the messages were sent, so a duplicated or stray reply the gateway had
    produced for an earlier message arrives before the sentinel's, however slow the machine (a quiet
    period only showed that nothing came within it). The sentinel goes through the backend (`x`), which
    takes the gateway several loop iterations, so events already on their way are handled meanwhile. Its
    reply may be an error (e.g. `rate_limited`): only its position matters."""
    sid = SENTINEL_ID
    _send_json(c, {"cmd": "x", "id": sid, "data": {"sentinel": True}})
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no reply to the sentinel within {timeout}s"
        try:
            fin, op, payload = c.recv_frame(left)
        except socket.timeout:
            continue
        if op in (OP_PING, OP_PONG):
            if op == OP_PING:
                c.send_frame(OP_PONG, payload)
            continue
        try:
            r = json.loads(payload) if op == OP_TEXT else None
        except ValueError:
            r = None
        if isinstance(r, dict) and r.get("id") == sid and r.get("cmd") == "x":
            return
        raise AssertionError(f"unexpected extra frame (opcode {op}) before the sentinel's reply: {payload[:200]!r}")


def connection_id(c):
    """The gateway's connection id of a raw client (asks the backend's /headers through the gateway)."""
    _send_json(c, {"cmd": "headers", "id": "whoami", "data": {}})
    r = read_replies(c, 1)[0]
    assert r["id"] == "whoami", r
    return r["data"]["headers"]["gateway-connection-id"]


def expect_close(c, code, timeout=5.0):
    """The gateway sends close `code` with no frame before it, then ends TCP."""
    got, reason, before = c.recv_until_close(timeout)
    assert got == code, f"expected close {code}, got {got} (reason {reason!r}, frames before: {before})"
    assert before == [], f"frames before the close: {before}"
    assert c.wait_eof(timeout=5), "TCP not closed after the close frame"
    return reason


def healthy_call(g, i="probe"):
    """A fresh client connects and gets a healthy reply (the gateway still serves)."""
    c = RawWS(g.port)
    try:
        _send_json(c, {"cmd": "x", "id": i, "data": {"probe": i}})
        assert read_replies(c, 1) == [{"cmd": "x", "id": i, "data": {"probe": i}}]
        c.close_frame(1000)
        c.recv_until_close(3)
    finally:
        c.close()


# ----------------------------------------------------------------------------------------------
# bystanders

class Bystander:
    """A raw WebSocket client on its own thread that sends numbered messages through the healthy route
    (`x`, backend /echo) with up to `window` in flight, one every `interval` seconds, and checks that
    each reply arrives exactly once, in order, with the right body, within BYSTANDER_MAX_LATENCY."""

    def __init__(self, g, name, window=4, interval=0.005, max_latency=BYSTANDER_MAX_LATENCY):
        self.c = RawWS(g.port)
        self.name = name
        self.window = window
        self.interval = interval
        self.max_latency_allowed = max_latency
        self.sent = 0
        self.received = []
        self.inflight = {}
        self.problems = []
        self.worst = 0.0
        self._seen = set()
        self._sentinel_back = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def count(self):
        with self._lock:
            return len(self.received)

    def wait_replies(self, n, timeout=5.0):
        wait_until(lambda: self.count() >= n or self.problems or not self._thread.is_alive(), timeout=timeout,
                   what=f"{self.name}: {n} replies (has {self.count()})")
        assert not self.problems, f"{self.name}: {self.problems[:5]}"
        assert self.count() >= n, f"{self.name} stopped after {self.count()} replies"

    def _send_next(self):
        i = self.sent
        self.inflight[i] = time.monotonic()
        self.sent += 1
        _send_json(self.c, {"cmd": "x", "id": i, "data": {"n": i, "who": self.name}})

    def _on_frame(self, op, payload):
        if op == OP_PING:
            self.c.send_frame(OP_PONG, payload)
            return True
        if op == OP_PONG:
            return True
        if op == OP_CLOSE:
            self.problems.append(f"closed by the gateway: {payload!r}")
            return False
        if op != OP_TEXT:
            self.problems.append(f"unexpected opcode {op}: {payload[:100]!r}")
            return True
        r = json.loads(payload)
        i = r.get("id")
        if i == SENTINEL_ID:
            self._sentinel_back = True
            return True
        if r != {"cmd": "x", "id": i, "data": {"n": i, "who": self.name}}:
            self.problems.append(f"wrong reply: {r}")
            return True
        if i in self._seen:
            self.problems.append(f"duplicate reply {i}")
            return True
        expected = len(self.received)
        if i != expected:
            self.problems.append(f"reply {i} arrived when {expected} was next")
        t = self.inflight.pop(i, None)
        if t is None:
            self.problems.append(f"reply {i} to a message never sent")
        else:
            lat = time.monotonic() - t
            self.worst = max(self.worst, lat)
            if lat > self.max_latency_allowed:
                self.problems.append(f"reply {i} took {lat:.2f}s")
        self._seen.add(i)
        with self._lock:
            self.received.append(i)
        return True

    def _run(self):
        next_send = 0.0
        drain_deadline = None
        sentinel_sent = False
        try:
            while True:
                now = time.monotonic()
                if self._stop.is_set():
                    if drain_deadline is None:
                        drain_deadline = now + 5.0
                    if not self.inflight:
                        # Every reply is in; one last message is the sentinel. Replies keep their order,
                        # so a duplicate the gateway had produced arrives before the sentinel's reply
                        # (and _on_frame reports it); then there is nothing left to wait for.
                        if not sentinel_sent:
                            _send_json(self.c, {"cmd": "x", "id": SENTINEL_ID, "data": {}})
                            sentinel_sent = True
                        if self._sentinel_back:
                            break
                        if now > drain_deadline:
                            self.problems.append("no reply to the closing sentinel")
                            break
                    elif now > drain_deadline:
                        self.problems.append(f"replies never came: {sorted(self.inflight)[:20]}")
                        break
                elif len(self.inflight) < self.window and now >= next_send:
                    self._send_next()
                    next_send = now + self.interval
                    continue
                if not self._stop.is_set() and len(self.inflight) < self.window:
                    wait = min(0.05, max(0.0005, next_send - now))
                else:
                    wait = 0.05
                try:
                    fin, op, payload = self.c.recv_frame(wait)
                except socket.timeout:
                    continue
                except (EOFError, ConnectionResetError) as e:
                    self.problems.append(f"connection ended: {e!r}")
                    break
                if not self._on_frame(op, payload):
                    break
            if not self.problems:
                self.c.close_frame(1000)
                code, _, frames = self.c.recv_until_close(3)
                if code != 1000:
                    self.problems.append(f"close handshake: got {code}, frames {frames[:3]}")
        except Exception as e:  # noqa: BLE001 - reported by check()
            self.problems.append(f"bystander crashed: {e!r}")
        finally:
            self.c.close()

    def stop(self):
        self._stop.set()

    def join(self):
        self._thread.join(10)
        if self._thread.is_alive():
            self.problems.append("bystander thread did not finish")

    def check(self, min_replies):
        assert not self.problems, f"{self.name}: {self.problems[:8]}"
        assert self.received == list(range(self.sent)), \
            f"{self.name}: sent {self.sent}, received {len(self.received)} (not each exactly once, in order)"
        assert self.sent >= min_replies, f"{self.name} sent only {self.sent} messages"


@contextlib.contextmanager
def bystanders(g, n=2, min_replies=10, **kw):
    """Bystanders running for the whole `with` block (and a little after it: each must get 3 more replies
    once the fault is over). Their checks run at the end."""
    bs = []
    try:
        for i in range(n):
            bs.append(Bystander(g, f"bystander-{i}", **kw).start())
        for b in bs:
            b.wait_replies(3)
    except BaseException:
        for b in bs:
            b.stop()
        for b in bs:
            b.join()
        raise
    ok = False
    try:
        yield bs
        ok = True
        for b in bs:
            b.wait_replies(max(b.count() + 3, min_replies))
    finally:
        for b in bs:
            b.stop()
        for b in bs:
            b.join()
    if ok:
        for b in bs:
            b.check(min_replies)


# ----------------------------------------------------------------------------------------------
# descriptors

def _sock_diag(port, dest):
    """{inode: TCP state} of the IPv4 TCP sockets whose source port (or, with `dest`, destination port)
    is `port`. Asks the kernel over NETLINK_SOCK_DIAG with an in-kernel port filter: reading
    /proc/net/tcp takes most of a second on a machine with tens of thousands of sockets."""
    ge, le = (4, 5) if dest else (2, 3)          # INET_DIAG_BC_{D,S}_GE / _LE
    # port >= P and port <= P; a false test jumps past the end (reject).
    bc = struct.pack("=BBHBBH", ge, 8, 20, 0, 0, port) + struct.pack("=BBHBBH", le, 8, 12, 0, 0, port)
    req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + bytes(48)
    body = req + struct.pack("=HH", 4 + len(bc), 1) + bc          # INET_DIAG_REQ_BYTECODE
    msg = struct.pack("=IHHII", 16 + len(body), 20, 0x301, 1, 0) + body  # SOCK_DIAG_BY_FAMILY, REQUEST|DUMP
    out = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4) as nl:   # NETLINK_SOCK_DIAG
        nl.sendto(msg, (0, 0))
        while True:
            data = nl.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind == 3:       # NLMSG_DONE
                    return out
                if kind == 2:       # NLMSG_ERROR
                    raise OSError(-struct.unpack_from("=i", data, off + 16)[0], "sock_diag dump failed")
                state = data[off + 17]
                out[struct.unpack_from("=I", data, off + 16 + 68)[0]] = state   # inet_diag_msg.idiag_inode
                off += (length + 3) & ~3


def fd_state(g, backend):
    """The gateway's descriptors: `client` (accepted on its port), `backend` (to the backend port),
    `backend_stale` (of those, any not ESTABLISHED, e.g. CLOSE_WAIT: a connection the backend closed and
    the gateway never released), `other` (listeners, rings, eventfds, pipes, and anything leaked, such as
    a socket to a refusing port)."""
    local = _sock_diag(g.port, dest=False)
    remote = _sock_diag(backend.port, dest=True)
    out = {"client": 0, "backend": 0, "backend_stale": 0, "other": 0}
    for fd in os.listdir(f"/proc/{g.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{g.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = int(target[8:-1])
            if local.get(inode, 10) != 10:      # 10 = LISTEN
                out["client"] += 1
                continue
            if inode in remote:
                out["backend"] += 1
                if remote[inode] != 1:          # 1 = ESTABLISHED
                    out["backend_stale"] += 1
                continue
        out["other"] += 1
    return out


def fds_settled(g, backend, baseline=None, timeout=5.0, allow_stale=False):
    """Waits until no client connection is open, nothing changes for 50 ms, no backend connection is
    stale, and (given a baseline) `other` equals the baseline's and the backend pool is bounded.
    Returns the breakdown; fails with the last one seen."""
    deadline = time.monotonic() + timeout
    prev = fd_state(g, backend)
    while True:
        time.sleep(0.05)
        cur = fd_state(g, backend)
        good = cur == prev and cur["client"] == 0 and (allow_stale or cur["backend_stale"] == 0)
        if baseline is not None:
            good = good and cur["other"] == baseline["other"] and cur["backend"] <= BACKEND_POOL_MAX
        if good:
            return cur
        if time.monotonic() > deadline:
            raise AssertionError(f"descriptors did not return to baseline within {timeout}s: "
                                 f"baseline {baseline}, now {cur}")
        prev = cur


@contextlib.contextmanager
def fault_scope(g, backend, n_bystanders=2, allow_stale=False, **kw):
    """Baseline descriptors, bystanders for the duration, then: the gateway is alive, serves a fresh
    client, and its descriptors are back to the baseline."""
    baseline = fds_settled(g, backend)
    with bystanders(g, n_bystanders, **kw) as bs:
        yield bs
    assert g.proc.poll() is None, f"the gateway exited with {g.proc.returncode}"
    healthy_call(g)
    fds_settled(g, backend, baseline, allow_stale=allow_stale)


# ----------------------------------------------------------------------------------------------
# backend faults

# cmd -> (what the backend does after writing, the exact bytes it writes as the whole response)
RAW_RESPONSES = {
    "f.head_rst": ("rst", b"HTTP/1.1 200 OK\r\nContent-Ty"),
    "f.head_fin": ("fin", b"HTTP/1.1 200 OK\r\nContent-Ty"),
    "f.chunk_rst": ("rst", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"),
    "f.chunk_fin": ("fin", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"),
    "f.empty": ("fin", b""),
    "f.bad_chunk": ("keep", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    "f.negative_length": ("fin", b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhi"),
    "f.two_lengths": ("fin", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                             b"Content-Length: 3\r\n\r\nhi!"),
}


def _fault_module(backend, **kw):
    u = backend.url
    routes = backend.routes()
    t = OTHER_FAULT_TIMEOUT_MS
    routes.update({
        "f.refused": {"url": backend.dead_url("/x"), "timeoutMs": t},
        "f.partial_rst": {"url": u("/partial/rst"), "timeoutMs": t},
        "f.partial_fin": {"url": u("/partial/fin"), "timeoutMs": t},
        "f.hang": {"url": u("/hang"), "timeoutMs": FAULT_TIMEOUT_MS},
        "f.500": {"url": u("/status/500"), "timeoutMs": t},
        "f.503": {"url": u("/status/503"), "timeoutMs": t},
        "f.garbage": {"url": u("/garbage"), "timeoutMs": t},
        "f.huge": {"url": u("/big/300000"), "timeoutMs": 2000},
        "f.huge_chunked": {"url": u("/bigchunked/300000"), "timeoutMs": 2000},
        "f.at_limit": {"url": u(f"/big/{RESPONSE_LIMIT}"), "timeoutMs": 2000},
        # ~70-byte head in 8-byte pieces + 10 (16) body bytes, 50 ms apart: about 1 s (1.3 s) in all.
        "f.trickle": {"url": u("/trickle/10/50"), "timeoutMs": 3000},
        "f.trickle_slow": {"url": u("/trickle/16/50"), "timeoutMs": 500},
    })
    # Raw responses (RAW_RESPONSES): the backend writes the bytes the message's data names, then acts.
    for cmd, (then, _) in RAW_RESPONSES.items():
        routes[cmd] = {"url": u(f"/rawresp/{then}"), "timeoutMs": t}
    return backend.module(routes=routes, **kw)


@pytest.fixture(params=["native", "curl"])
def transport(request):
    """The backend HTTP client under test: the gateway's own (`io.backendClient: auto`, used for http://
    URLs at IP addresses) or libcurl (`curl`, used for everything else). Both must handle every fault."""
    return request.param


def _io(transport):
    return {"backendClient": "auto" if transport == "native" else "curl"}


def _gateway_for_backend_faults(gateway_factory, backend, transport="native"):
    return gateway_factory(modules=[_fault_module(backend)], limits={"maxBackendResponseBytes": RESPONSE_LIMIT},
                           io=_io(transport))


def pipeline_with_faults(g, cmds, rounds=3, timeout=8.0):
    """On one connection: `rounds` times [healthy, each faulty cmd], then a last healthy message, all sent
    at once. Replies must come exactly once, in the order sent; healthy ones must be right.
    Returns {cmd: [faulty replies]}."""
    c = RawWS(g.port)
    try:
        sent = []
        for r in range(rounds):
            sent.append(("x", f"h{r}"))
            for cmd in cmds:
                sent.append((cmd, f"{cmd}-{r}"))
        sent.append(("x", "h-last"))
        def data(cmd, i):
            if cmd in RAW_RESPONSES:
                return {"b64": base64.b64encode(RAW_RESPONSES[cmd][1]).decode()}
            return {"i": i}
        c.send(b"".join(encode_frame(OP_TEXT, json.dumps({"cmd": cmd, "id": i, "data": data(cmd, i)}).encode())
                        for cmd, i in sent))
        replies = read_replies(c, len(sent), timeout)
        assert [(r.get("cmd"), r.get("id")) for r in replies] == sent, "replies lost, duplicated or reordered"
        out = {cmd: [] for cmd in cmds}
        for (cmd, i), r in zip(sent, replies):
            if cmd == "x":
                assert r == {"cmd": "x", "id": i, "data": {"i": i}}, r
            else:
                out[cmd].append(r)
        assert_no_more_frames(c)
        return out
    finally:
        c.close()


def _assert_error(r, code, status):
    assert "data" not in r, r
    err = r.get("error")
    assert err is not None, f"expected error {code}, got {r}"
    assert (err.get("code"), err.get("status")) == (code, status), f"expected {code}/{status}, got {r}"
    assert isinstance(err.get("message"), str) and err["message"], r


def test_backend_refuses_connections(gateway_factory, backend, transport):
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        out = pipeline_with_faults(g, ["f.refused"], rounds=4)
        for r in out["f.refused"]:
            _assert_error(r, "backend_unavailable", 503)


@pytest.mark.parametrize("cmd", [
    "f.partial_rst", "f.partial_fin", "f.chunk_rst", "f.chunk_fin", "f.head_rst",
    "f.head_fin",
])
def test_backend_resets_mid_response(gateway_factory, backend, transport, cmd):
    """The backend's connection ends in the middle of its response: after the head and 100 of 1,000
    promised body bytes (`partial`), inside a chunk (`chunk`), or inside the head (`head`); by RST or FIN.
    A truncated response is an invalid one: `backend_error` 502 (not `backend_unavailable`: the backend
    was reached)."""
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    # libcurl reports a head cut off by FIN as a complete response; the gateway rejects it afterwards,
    # but the half-closed connection is then already back in libcurl's cache, where it stays (CLOSE_WAIT)
    # until libcurl's next cache prune. The native client closes it at once.
    allow_stale = transport == "curl" and cmd == "f.head_fin"
    with fault_scope(g, backend, allow_stale=allow_stale):
        out = pipeline_with_faults(g, [cmd])
        for r in out[cmd]:
            _assert_error(r, "backend_error", 502)


def test_backend_hangs(gateway_factory, backend, transport):
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        c = RawWS(g.port)
        try:
            t0 = time.monotonic()
            _send_json(c, {"cmd": "f.hang", "id": "alone", "data": {}})
            r = read_replies(c, 1)[0]
            elapsed = time.monotonic() - t0
        finally:
            c.close()
        _assert_error(r, "backend_timeout", 504)
        assert 0.25 <= elapsed < 1.5, f"timeout reply after {elapsed:.2f}s (route timeout {FAULT_TIMEOUT_MS} ms)"
        out = pipeline_with_faults(g, ["f.hang"])
        for r in out["f.hang"]:
            _assert_error(r, "backend_timeout", 504)
    # The gateway gave up on each hung call by closing its backend connection: the backend's handler
    # returns only once it sees that close.
    wait_until(lambda: (lambda rs: len(rs) == 4 and all(x["done"] is not None for x in rs))(
        backend.records(path="/hang")), timeout=3, what="the gateway to close every hung backend connection")


def test_backend_returns_5xx(gateway_factory, backend, transport):
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        out = pipeline_with_faults(g, ["f.500", "f.503"])
        for r in out["f.500"]:
            _assert_error(r, "backend_error", 500)
        for r in out["f.503"]:
            _assert_error(r, "backend_error", 503)


def test_backend_returns_garbage(gateway_factory, backend, transport):
    """Bytes that are not HTTP; and broken framing: an empty answer, a chunk size that is not hex, a
    negative Content-Length. All `backend_error` 502."""
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    cmds = ["f.garbage", "f.empty", "f.bad_chunk", "f.negative_length"]
    with fault_scope(g, backend):
        out = pipeline_with_faults(g, cmds, rounds=2)
        for cmd in cmds:
            for r in out[cmd]:
                _assert_error(r, "backend_error", 502)


def test_backend_returns_conflicting_content_length(gateway_factory, backend, transport):
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        out = pipeline_with_faults(g, ["f.two_lengths"], rounds=2)
        for r in out["f.two_lengths"]:
            _assert_error(r, "backend_error", 502)


HOOK_CUT_HEAD = b"HTTP/1.1 200 OK\r\nGateway-Set-User: mallory\r\nContent-Ty"


@pytest.mark.parametrize("how", [
    "garbage", "rst",
    "fin",
])
def test_handshake_hook_fails_mid_response(gateway_factory, backend, how, transport):
    """The handshake hook answers garbage, or its connection ends inside a 200 response head: the client
    must not be upgraded (a 5xx, like an unreachable hook)."""
    if how == "garbage":
        hook = backend.url("/garbage")
    else:
        hook = backend.url(f"/rawresp/{how}?b64=" + urllib.parse.quote(base64.b64encode(HOOK_CUT_HEAD).decode()))
    g = gateway_factory(modules=[backend.module(path="/hooked", handshake=hook, hookTimeoutMs=OTHER_FAULT_TIMEOUT_MS),
                                 backend.module()], io=_io(transport))
    # As in test_backend_resets_mid_response: libcurl keeps the half-closed connection of a head cut
    # off by FIN in its cache (CLOSE_WAIT) until its next prune; the native client closes it.
    with fault_scope(g, backend, allow_stale=transport == "curl" and how == "fin"):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
                s.sendall(handshake_request("/hooked"))
                status, headers, _ = read_http_response(s, 5)
            assert status != 101 and "sec-websocket-accept" not in headers, f"upgraded: {status} {headers}"
            assert 500 <= status < 600, status


def test_backend_returns_huge_body(gateway_factory, backend, transport):
    """Bodies over limits.maxBackendResponseBytes (with Content-Length, and chunked without one) fail with
    `backend_error` 502; a body of exactly the limit is a normal reply."""
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        out = pipeline_with_faults(g, ["f.huge", "f.huge_chunked", "f.at_limit"], rounds=2)
        for r in out["f.huge"] + out["f.huge_chunked"]:
            _assert_error(r, "backend_error", 502)
        for r in out["f.at_limit"]:
            assert r.get("data") == "x" * RESPONSE_LIMIT, str(r)[:200]


def test_backend_trickles_within_timeout(gateway_factory, backend, transport):
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        t0 = time.monotonic()
        out = pipeline_with_faults(g, ["f.trickle"], rounds=2)
        elapsed = time.monotonic() - t0
        for r in out["f.trickle"]:
            assert r.get("data") == "0123456789", r
        assert elapsed >= 0.8, f"the trickled replies came after {elapsed:.2f}s: the backend did not trickle"


def test_backend_trickles_past_timeout(gateway_factory, backend, transport):
    """Bytes keep arriving every 50 ms, but the whole response takes ~1.3 s: the route's 500 ms timeout
    bounds the exchange, not the gaps between bytes."""
    g = _gateway_for_backend_faults(gateway_factory, backend, transport)
    with fault_scope(g, backend):
        t0 = time.monotonic()
        out = pipeline_with_faults(g, ["f.trickle_slow"], rounds=2)
        elapsed = time.monotonic() - t0
        for r in out["f.trickle_slow"]:
            _assert_error(r, "backend_timeout", 504)
        assert elapsed < 1.2, f"timeout replies after {elapsed:.2f}s (route timeout 500 ms)"
    # The backend's writes fail once the gateway closed the connection.
    wait_until(lambda: (lambda rs: len(rs) == 2 and all(x["done"] is not None for x in rs))(
        backend.records(path="/trickle/16/50")), timeout=3,
        what="the gateway to close the timed-out trickling connections")


# ----------------------------------------------------------------------------------------------
# client faults

def _hooked_module(backend):
    return backend.module(disconnect=backend.url("/disconnect"))


def _conn_header(rec):
    return next(v for k, v in rec["headers"] if k.lower() == "gateway-connection-id")


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_client_disappears_mid_call(gateway_factory, backend, how):
    """Clients with a backend call in flight drop TCP without a close frame: the orphaned replies go
    nowhere, each session ends with disconnect hook code 1006, the gateway keeps serving."""
    g = gateway_factory(modules=[_hooked_module(backend)])
    with fault_scope(g, backend):
        clients = []
        for i in range(4):
            c = RawWS(g.port)
            _send_json(c, {"cmd": "slow200", "id": i, "data": {"v": i}})
            clients.append(c)
        recs = backend.wait_records(4, path="/slow/200")
        for c in clients:
            c.abort(rst=(how == "rst"))
        conns = {_conn_header(r) for r in recs}
        assert len(conns) == 4
        for conn in conns:
            d = backend.wait_disconnect(conn)
            assert d["code"] == 1006, d
        # The orphaned calls complete at the backend while the bystanders keep going.
        wait_until(lambda: all(r["done"] is not None for r in backend.records(path="/slow/200")), timeout=3,
                   what="the orphaned calls to finish")


def test_client_sends_half_a_frame_and_stalls(gateway_factory, backend):
    """A frame header announcing 100 bytes, 10 of them, then silence: the gateway closes the connection
    after idleTimeoutSeconds (2 s; 1001 `idle timeout`) and drops TCP after closeTimeoutSeconds."""
    g = gateway_factory(modules=[_hooked_module(backend)],
                        limits={"idleTimeoutSeconds": 2, "pingIntervalSeconds": 1, "closeTimeoutSeconds": 1})
    with fault_scope(g, backend):
        c = RawWS(g.port)
        try:
            conn = connection_id(c)
            key = os.urandom(4)
            c.send(bytes([0x81, 0x80 | 100]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(b"0123456789")))
            t0 = time.monotonic()
            # Pings may come first; the stalled client answers nothing.
            code, reason, before = c.recv_until_close(timeout=5)
            t_close = time.monotonic() - t0
            assert code == 1001, f"expected close 1001, got {code} {reason!r} after {t_close:.2f}s"
            assert all(op == OP_PING for _, op, _ in before), before
            assert 1.6 <= t_close <= 4.0, f"closed after {t_close:.2f}s (idle timeout 2 s)"
            assert c.wait_eof(timeout=3), "TCP not dropped after closeTimeoutSeconds"
        finally:
            c.close()
        assert backend.wait_disconnect(conn)["code"] == 1001


def test_client_floods_messages(gateway_factory, backend):
    """200 messages in one write against messagesPerSecond 20 / messageBurst 10: every message gets a
    reply, in order; the burst passes, the rest get `rate_limited` 429 without a backend call; after a
    short pause the connection is fully usable."""
    g = gateway_factory(limits={"messagesPerSecond": 20, "messageBurst": 10})
    n = 200
    # The bystanders send 10 messages/s each, under the per-connection rate.
    with fault_scope(g, backend, window=1, interval=0.1, min_replies=5):
        c = RawWS(g.port)
        try:
            c.send(b"".join(encode_frame(OP_TEXT, json.dumps({"cmd": "x", "id": i, "data": {"flood": i}}).encode())
                            for i in range(n)))
            replies = read_replies(c, n, timeout=10)
            assert [r.get("id") for r in replies] == list(range(n)), "replies lost, duplicated or reordered"
            ok = [r for r in replies if "error" not in r]
            limited = [r for r in replies if "error" in r]
            for r in limited:
                assert r["cmd"] == "x"
                _assert_error(r, "rate_limited", 429)
            for r in ok:
                assert r == {"cmd": "x", "id": r["id"], "data": {"flood": r["id"]}}, r
            assert replies[:10] == [{"cmd": "x", "id": i, "data": {"flood": i}} for i in range(10)], \
                "the burst of 10 must pass"
            assert 10 <= len(ok) <= 20, f"{len(ok)} of {n} flooded messages passed (burst 10, 20/s)"
            assert_no_more_frames(c)
            flooded = [r for r in backend.records(path="/echo") if '"flood"' in r["body"]]
            assert len(flooded) == len(ok), "rate-limited messages must not reach the backend"
            # Usable again: once a token is back, 5 messages at 10/s all pass.
            deadline = time.monotonic() + 2
            while True:
                _send_json(c, {"cmd": "x", "id": "again", "data": 1})
                r = read_replies(c, 1)[0]
                if "error" not in r:
                    break
                assert r["error"]["code"] == "rate_limited" and time.monotonic() < deadline, r
                time.sleep(0.05)
            for i in range(5):
                time.sleep(0.1)
                _send_json(c, {"cmd": "x", "id": f"after-{i}", "data": i})
                assert read_replies(c, 1) == [{"cmd": "x", "id": f"after-{i}", "data": i}]
        finally:
            c.close()


HANDSHAKE_FLOOD = 2000
FLOOD_THREADS = 8


def _flood_one(port, kind, stats):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        req = handshake_request("/ws")
        if kind in (0, 1):      # complete handshake, read the 101, then FIN / RST without a close frame
            s.sendall(req)
            status = read_http_response(s, 5)[0]
            stats["101" if status == 101 else f"status {status}"] += 1
        elif kind in (2, 3):    # half a request head, then FIN / RST
            s.sendall(req[:len(req) // 2])
            stats["half"] += 1
        elif kind == 4:         # connect, then RST at once
            stats["connect-only"] += 1
        else:                   # complete handshake, leave without reading the answer
            s.sendall(req)
            stats["unread"] += 1
        if kind in (1, 3, 4):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AssertionError) as e:
        stats[f"error {type(e).__name__}"] += 1
    finally:
        s.close()


def test_client_floods_handshakes(gateway_factory, backend):
    """2,000 connections from 8 threads as fast as they go, most abandoned mid-way (half a request, no
    request, RST, 101 never read). Meanwhile a new client is served promptly each time it tries, the
    bystanders are not held up, and afterwards every descriptor is released - through noticing the
    abandoned connections, not the handshake timeout (set to 30 s)."""
    import collections
    g = gateway_factory(limits={"handshakeTimeoutSeconds": 30})
    with fault_scope(g, backend):
        stats = collections.Counter()
        lock = threading.Lock()

        def worker(k):
            local = collections.Counter()
            for i in range(k, HANDSHAKE_FLOOD, FLOOD_THREADS):
                _flood_one(g.port, i % 6, local)
            with lock:
                stats.update(local)

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(FLOOD_THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        probes = []
        while any(t.is_alive() for t in threads):
            p0 = time.monotonic()
            healthy_call(g, f"p{len(probes)}")
            probes.append(time.monotonic() - p0)
        for t in threads:
            t.join(30)
        flood_s = time.monotonic() - t0
        assert sum(stats.values()) == HANDSHAKE_FLOOD, stats
        assert not [k for k in stats if k.startswith(("error", "status"))], f"flood results: {dict(stats)}"
        assert stats["101"] == sum(1 for i in range(HANDSHAKE_FLOOD) if i % 6 in (0, 1)), stats
        assert probes, "no probe ran during the flood"
        assert max(probes) < 1.0, f"a new client waited {max(probes):.2f}s during the flood ({len(probes)} " \
                                  f"probes, flood {flood_s:.1f}s)"


def test_client_oversized_headers(gateway_factory, backend):
    """maxHeaderBytes 4096: a 5,000-byte header gets 431; so does a head that never ends, promptly (not
    after handshakeTimeoutSeconds)."""
    g = gateway_factory(limits={"maxHeaderBytes": 4096, "handshakeTimeoutSeconds": 10})
    with fault_scope(g, backend):
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
            s.sendall(handshake_request("/ws", extra=[("X-Big", "a" * 5000)]))
            status, _, _ = read_http_response(s, 5)
            assert status == 431
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
            t0 = time.monotonic()
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 90)
                                                                     for i in range(50)))
            status, _, _ = read_http_response(s, 5)
            elapsed = time.monotonic() - t0
            assert status == 431
            assert elapsed < 2.0, f"431 after {elapsed:.2f}s"


def _protocol_fault(g, backend, frames_or_bytes, code):
    c = RawWS(g.port)
    try:
        conn = connection_id(c)
        if isinstance(frames_or_bytes, bytes):
            c.send(frames_or_bytes)
        else:
            for f in frames_or_bytes:
                c.send_frame(**f)
        t0 = time.monotonic()
        expect_close(c, code)
        elapsed = time.monotonic() - t0
    finally:
        c.close()
    assert backend.wait_disconnect(conn)["code"] == code
    return elapsed


def test_client_sends_oversized_frames(gateway_factory, backend):
    """maxMessageBytes 1024: a 2,000-byte frame, and a frame header announcing 2^40 bytes (nothing sent
    after it), each close with 1009 - the second at once, without waiting for the payload."""
    g = gateway_factory(modules=[_hooked_module(backend)], limits={"maxMessageBytes": 1024})
    with fault_scope(g, backend):
        _protocol_fault(g, backend, [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"' + b"a" * 2000 + b'"}')],
                        1009)
        elapsed = _protocol_fault(g, backend, bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 40) + os.urandom(4), 1009)
        assert elapsed < 1.0, f"1009 after {elapsed:.2f}s"
    assert not [r for r in backend.records(path="/echo") if '"aaaa' in r["body"]], \
        "the oversized message reached the backend"


UTF8_CASES = [
    [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"\xc3\x28"}')],          # bad continuation byte
    [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"\xc0\xaf"}')],          # overlong encoding
    [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"\xed\xa0\x80"}')],      # UTF-16 surrogate
    [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":"\xf4\x90\x80\x80"}')],  # above U+10FFFF
    [dict(opcode=OP_TEXT, payload=b'"\xe2\x82', fin=False),                     # split across fragments
     dict(opcode=OP_CONT, payload=b'\x28"')],
    [dict(opcode=OP_TEXT, payload=b'"ok \xe2\x82')],                           # truncated at the end
    [dict(opcode=OP_CLOSE, payload=struct.pack("!H", 1000) + b"\xff")],       # close reason
]


def test_client_sends_invalid_utf8(gateway_factory, backend):
    g = gateway_factory(modules=[_hooked_module(backend)])
    with fault_scope(g, backend):
        for frames in UTF8_CASES:
            _protocol_fault(g, backend, frames, 1007)


def test_client_sends_unmasked_frames(gateway_factory, backend):
    g = gateway_factory(modules=[_hooked_module(backend)])
    with fault_scope(g, backend):
        for op, payload in ((OP_TEXT, b'{"cmd":"x","id":1,"data":1}'), (OP_BINARY, b"\x01\x02"), (OP_PING, b"p")):
            _protocol_fault(g, backend, [dict(opcode=op, payload=payload, mask=False)], 1002)
    assert not [r for r in backend.records(path="/echo") if r["body"] == "1"], "an unmasked message was processed"


def test_client_sends_reserved_opcodes(gateway_factory, backend):
    g = gateway_factory(modules=[_hooked_module(backend)])
    with fault_scope(g, backend):
        for op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF):
            _protocol_fault(g, backend, [dict(opcode=op, payload=b"x")], 1002)


def test_client_sets_rsv_bits(gateway_factory, backend):
    """No extension is negotiated, so RSV1, RSV2 and RSV3 must all be 0 (on data and control frames)."""
    g = gateway_factory(modules=[_hooked_module(backend)])
    with fault_scope(g, backend):
        for rsv in (4, 2, 1):
            _protocol_fault(g, backend, [dict(opcode=OP_TEXT, payload=b'{"cmd":"x","data":1}', rsv=rsv)], 1002)
        _protocol_fault(g, backend, [dict(opcode=OP_PING, payload=b"p", rsv=4)], 1002)


# ----------------------------------------------------------------------------------------------
# process-level faults

NOFILE = 128


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def _open_ws(port, wait):
    """A raw TCP connection that sends a handshake; (socket, True) if the 101 came within `wait` s."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(handshake_request("/ws"))
    data = b""
    deadline = time.monotonic() + wait
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return s, False
        r, _, _ = select.select([s], [], [], left)
        if r:
            chunk = s.recv(4096)
            assert chunk, f"connection closed during the handshake: {data!r}"
            data += chunk
    assert data.startswith(b"HTTP/1.1 101"), data[:200]
    return s, True


def _recv_text_json(s, timeout=3.0):
    """One text frame (the only one expected) on a plain socket after its handshake, as JSON."""
    s.settimeout(timeout)
    f = BufferedSock(s)
    b0, b1 = f.read(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", f.read(2))[0]
    assert b0 == 0x81 and n < 126 + 65536, (b0, b1)
    return json.loads(f.read(n))


def test_file_descriptor_exhaustion(gateway_factory, backend):
    """RLIMIT_NOFILE 128 and maxConnections far above it: connections are accepted until descriptors run
    out; then the next one waits in the backlog while the gateway idles (no accept busy-loop) and the
    established connections (the bystander) are still served; once some connections close, the waiting
    one is accepted and served, and so are new ones."""
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    # A second backend the gateway has never connected to: a listener that completes TCP handshakes (in
    # its backlog) but never answers. A call to it needs a new descriptor: without one it must fail at
    # once with `backend_unavailable`; with one it would connect and end in `backend_timeout` (2 s).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    routes = backend.routes()
    routes["silent"] = {"url": f"http://127.0.0.1:{silent.getsockname()[1]}/x", "timeoutMs": 2000}
    g = gateway_factory(limits={"maxConnections": 100000}, modules=[backend.module(routes=routes)],
                        preexec_fn=low_nofile)
    with open(f"/proc/{g.pid}/limits") as f:
        assert re.search(rf"Max open files\s+{NOFILE}\s+{NOFILE}", f.read()), "the limit did not apply"
    held = []
    probe = None
    # One bystander, one message at a time: its backend call reuses the pooled keep-alive connection
    # and needs no new descriptor while the process is out of them.
    try:
        with fault_scope(g, backend, n_bystanders=1, window=1, interval=0.1, min_replies=5):
            for _ in range(NOFILE + 10):
                s, served = _open_ws(g.port, 0.5)
                if not served:
                    probe = s
                    break
                held.append(s)
            assert probe is not None, f"{len(held)} connections served with RLIMIT_NOFILE {NOFILE}"
            assert len(held) >= NOFILE // 2, f"only {len(held)} connections before saturation"
            assert g.fd_count() >= NOFILE - 2, f"not saturated by descriptors: {g.fd_count()} open"
            # Saturated: over 2 s of wall time the probe stays unanswered and the gateway stays idle.
            cpu0, t0 = _cpu_seconds(g.pid), time.monotonic()
            r, _, _ = select.select([probe], [], [], 2.0)
            assert not r, f"the waiting connection got {probe.recv(200)!r} while descriptors were exhausted"
            cpu = _cpu_seconds(g.pid) - cpu0
            assert time.monotonic() - t0 >= 1.9
            assert cpu < 0.3, f"the gateway used {cpu:.2f}s of CPU in 2 s while out of descriptors (busy loop?)"
            assert g.proc.poll() is None
            # A call that needs a new backend connection cannot get a descriptor either: it fails at once
            # with an error reply (it neither waits for a descriptor nor takes the gateway down).
            c = held[-1]   # stays open below
            t1 = time.monotonic()
            c.sendall(encode_frame(OP_TEXT, b'{"cmd":"silent","id":"emfile","data":{}}'))
            _assert_error(_recv_text_json(c, timeout=5), "backend_unavailable", 503)
            assert time.monotonic() - t1 < 1.5, "the call waited instead of failing for want of a descriptor"
            # Free ten descriptors: accepting resumes, the waiting connection gets its 101.
            for s in held[:10]:
                s.close()
            del held[:10]
            probe.settimeout(3)
            status = read_http_response(probe, 3)[0]
            assert status == 101, status
            held.append(probe)
            probe = None
            healthy_call(g, "after-exhaustion")
            for s in held:
                s.close()
            held = []
    finally:
        for s in held + ([probe] if probe else []):
            s.close()
        silent.close()


def _block_io_uring():
    import seccomp
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "io_uring_setup")
    f.load()


def test_io_uring_unavailable_falls_back_to_epoll(gateway_factory, backend, engine, tmp_path):
    """io_uring_setup fails with ENOSYS (a seccomp filter, as in containers): `--io-engine auto` starts on
    epoll and says why, and serves; `--io-engine io_uring` refuses to start (exit 1, with the reason);
    `--io-engine epoll` is unaffected."""
    pytest.importorskip("seccomp", reason="python3-seccomp is needed (scripts/test.sh installs it)")
    if engine == "io_uring":
        # Control: without the filter, auto picks io_uring on this machine.
        g0 = gateway_factory(engine_flag=False, args=["--io-engine", "auto"])
        line = wait_until(lambda: re.search(r"listening on .* engine (\S+)", g0.log()), timeout=5,
                          what="the start-up line")
        assert line.group(1).rstrip(",") == "io_uring", line.group(0)

    g = gateway_factory(engine_flag=False, args=["--io-engine", "auto"], preexec_fn=_block_io_uring)
    line = wait_until(lambda: re.search(r"listening on .*", g.log()), timeout=5, what="the start-up line").group(0)
    assert re.search(r"engine epoll \(io_uring unavailable: io_uring_setup: ENOSYS", line), line
    with fault_scope(g, backend, n_bystanders=1):
        healthy_call(g, "fallback")

    if engine == "io_uring":
        cfg = tmp_path / "uring-required.json"
        cfg.write_text(json.dumps({"listen": f"127.0.0.1:{free_port()}", "modules": [backend.module()]}))
        r = subprocess.run([GATEWAY_BIN, "serve", "--config", str(cfg), "--io-engine", "io_uring"],
                           capture_output=True, text=True, timeout=20, preexec_fn=_block_io_uring)
        out = r.stdout + r.stderr
        assert r.returncode == 1, f"exit {r.returncode}: {out}"
        assert re.search(r"io_uring.*io_uring_setup: ENOSYS", out), out
        assert "listening on" not in out, out
    else:
        g2 = gateway_factory(preexec_fn=_block_io_uring)  # --io-engine epoll under the same filter
        line = wait_until(lambda: re.search(r"listening on .*", g2.log()), timeout=5,
                          what="the start-up line").group(0)
        assert re.search(r"engine epoll, ", line) and "unavailable" not in line, line
        healthy_call(g2, "epoll")
