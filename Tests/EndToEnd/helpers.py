"""Helpers shared by the end-to-end tests: waiting on conditions, a raw-socket WebSocket client for
protocol abuse, a raw HTTP client, and small asyncio wrappers around the `websockets` library."""
import asyncio
import base64
import json
import os
import re
import socket
import struct
import time

import websockets

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# The binary under test: GATEWAY_BIN, or the debug build in this repository.
GATEWAY_BIN = os.environ.get("GATEWAY_BIN") or os.path.join(REPO, ".build", "debug", "gateway")
# Bearer token of the admin API in configs that enable it.
ADMIN_TOKEN = "e2e-admin-token-0123456789"

# ----------------------------------------------------------------------------------------------
# waiting


def wait_until(predicate, timeout=5.0, interval=0.02, what="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or the deadline passes (fails)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
        time.sleep(interval)


def run(coro, timeout=60):
    """Runs a coroutine to completion on a fresh event loop, bounded by `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_bytes(pid):
    """The process's resident set size (VmRSS) in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fd_count(pid):
    """Open file descriptors of a process (Linux /proc)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def _socket_table():
    """inode -> (local port, remote port, state) for every TCP socket on the machine."""
    table = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
                    table[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), state)
        except FileNotFoundError:
            pass
    return table


def fd_breakdown(pid, listen_port, backend_port):
    """Counts a process's fds: `client` (accepted connections on listen_port), `backend` (connections
    to backend_port), `other` (everything else: listeners, io_uring/epoll, eventfds, files)."""
    table = _socket_table()
    out = {"client": 0, "backend": 0, "other": 0}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            entry = table.get(target[8:-1])
            if entry and entry[2] != "0A":  # 0A = LISTEN
                if entry[0] == listen_port:
                    out["client"] += 1
                    continue
                if entry[1] == backend_port:
                    out["backend"] += 1
                    continue
        out["other"] += 1
    return out




def listener_count(pid, port):
    """Listening TCP sockets of a process on `port` (one per event loop with SO_REUSEPORT)."""
    table = _socket_table()
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            entry = table.get(target[8:-1])
            if entry and entry[2] == "0A" and entry[0] == port:
                n += 1
    return n


TRACEPARENT_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

# ----------------------------------------------------------------------------------------------
# websockets (the library) wrappers


def ws_connect(url, **kw):
    """`websockets.connect` with test-friendly defaults: use as `async with ws_connect(u) as ws` or
    `ws = await ws_connect(u)`."""
    kw.setdefault("ping_interval", None)
    kw.setdefault("close_timeout", 3)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("max_size", 2 ** 25)
    return websockets.connect(url, **kw)


async def recv_json(ws, timeout=5):
    msg = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(msg, str), f"expected a text frame, got {type(msg).__name__}: {msg!r}"
    return json.loads(msg)


async def call(ws, msg, timeout=5):
    """Sends a json envelope (dict, or str sent verbatim) and returns the parsed reply."""
    await ws.send(msg if isinstance(msg, str) else json.dumps(msg, separators=(",", ":")))
    return await recv_json(ws, timeout)


async def expect_closed(ws, timeout=5):
    """Waits until the server closes the connection; returns the close frame code the client received
    (None when no close frame arrived, e.g. 1006)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd is not None else None


# ----------------------------------------------------------------------------------------------
# raw HTTP


def parse_http_response(data):
    """(status, headers {lower: value}, body) from raw bytes; body honours Content-Length."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP response head in {data[:300]!r}"
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", len(rest)))
    return int(m.group(1)), headers, rest[:n]


def read_http_response(sock, timeout=5.0):
    """Reads one response (head + Content-Length body, or until EOF)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        if b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
            if m and len(rest) >= int(m.group(1)):
                return parse_http_response(data)
            if not m and (status in (101, 204, 304) or 100 <= status < 200):
                return parse_http_response(data)
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out reading an HTTP response; got {data[:300]!r}")
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return parse_http_response(data)
        data += chunk


class BufferedSock:
    """`readline()` and `read(n)` over a socket, like `socket.makefile("rb")` but without keeping the
    socket open after `sock.close()`."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by peer")
        self.buf += chunk

    def readline(self):
        while b"\n" not in self.buf:
            try:
                self._more()
            except EOFError:
                line, self.buf = self.buf, b""
                return line
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_http_response_file(f):
    """Reads one response from a binary file object (keeps the rest buffered for the next call)."""
    status_line = f.readline()
    assert status_line, "connection closed before a response"
    m = re.match(rb"^HTTP/1\.[01] (\d{3})", status_line)
    assert m, f"bad status line {status_line!r}"
    status = int(m.group(1))
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", 0))
    body = f.read(n) if n else b""
    return status, headers, body


def http_raw(port, request_bytes, timeout=5.0):
    """Sends raw bytes, returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request_bytes)
        return read_http_response(s, timeout)


def handshake_request(path, key=None, version="13", extra=(), omit=()):
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    headers = [("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)]
    headers = [(k, v) for k, v in headers if k not in omit] + list(extra)
    return (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


# ----------------------------------------------------------------------------------------------
# raw WebSocket client

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def encode_frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


class RawWS:
    """A WebSocket client on a plain socket: it does only what the test tells it to do (it never
    answers pings by itself)."""

    # Bytes read after the handshake response (a class default, for subclasses with their own handshake).
    bytes_received = 0

    def __init__(self, port, path="/ws", timeout=5.0, extra_headers=()):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.sock.sendall(handshake_request(path, extra=extra_headers))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed during handshake: {data!r}"
            data += chunk
        head, _, self.buf = data.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        assert self.status == 101, f"handshake failed: {head!r}"
        self.bytes_received = len(self.buf)   # after the handshake response
        self.headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.sock.sendall(encode_frame(opcode, payload, **kw))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("frame read deadline")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by peer")
            self.bytes_received += len(chunk)
            self.buf += chunk

    def recv_frame(self, timeout=5.0):
        """(fin, opcode, payload). Raises EOFError on EOF, socket.timeout on timeout,
        ConnectionResetError on RST."""
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not (b1 & 0x80), "server frames must not be masked"
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._fill(4, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._fill(10, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._fill(off + n, deadline)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_until_close(self, timeout=5.0):
        """Reads frames until a close frame; returns (code or None, reason bytes, frames seen before).
        Returns (None, None, frames) if the TCP connection ended without a close frame."""
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            try:
                fin, op, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except (EOFError, ConnectionResetError):
                return None, None, frames
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:], frames
            frames.append((fin, op, payload))

    def wait_eof(self, timeout=5.0):
        """True when the server closes TCP (EOF or RST) within `timeout`; discards data meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return True
        return False

    def close_frame(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason)

    def abort(self, rst=True):
        """Drops the TCP connection without a close frame (RST when rst, else FIN)."""
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
