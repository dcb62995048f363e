#!/usr/bin/python3
"""A real HTTP/1.1 backend for the gateway's end-to-end tests.

Started as a subprocess by conftest.py: `backend.py [PORT]` binds 127.0.0.1 (port 0 = any free port),
prints `PORT <n>` on stdout and serves until killed. Keep-alive, Content-Length bodies, one thread per
connection (ThreadingHTTPServer). Every request except the `/recorded/*` ones is recorded (method,
path, headers, exact body bytes) so tests can assert what the gateway sent.

Endpoints (any method unless noted):
  /echo               body back with the request's Content-Type
  /slow/<ms>          sleeps <ms>, then {"ok":true}
  /status/<code>      that status with {"status":<code>} (no body for 204/304)
  /garbage            writes bytes that are not HTTP, then closes
  /reset              closes the socket (RST) without answering
  /big/<n>            n-byte text/plain body of 'x'
  /bigchunked/<n>     n bytes of 'y' as text/plain, chunked (no Content-Length), 8 KiB chunks
  /partial/<rst|fin>  headers (Content-Length 1000) and 100 bytes of body, then RST or FIN mid-body
  /hang               reads the request and never answers; returns when the peer closes (at most 60 s)
  /trickle/<n>/<ms>   200 text/plain, body n bytes "0123456789012..."; the head is written in 8-byte
                      pieces and the body one byte at a time, <ms> apart
  /rawresp/<then>[?b64=B]  query B, else request body {"b64": B}: writes the decoded bytes of B as the
                      whole response, then
                      `rst` (RST), `fin` (FIN), `hang` (waits until the peer closes) or `keep` (goes on
                      serving the connection)
  /text               text/plain `hello text`
  /binary             application/octet-stream BINARY_BODY (invalid UTF-8 inside)
  /badjson            Content-Type application/json, body that is not JSON
  /headers            JSON {"headers": {lower-name: value, ...}, "list": [[name, value], ...]}
  /hook/accept        200, Gateway-Set-User: u-<query user or "anon">, Gateway-Join: lobby,news, {"welcome":true}
  /hook/reject        403 {"error":"nope"}
  /disconnect         records the JSON body, 200 {"ok":true}
  /disconnect-flaky/<n>  answers 500 to the first <n> attempts per connectionId, then behaves like /disconnect
  /no-content         204
  /respond?status=N&h=Name:Value&h=...&body=B&ct=T
                      status N (200), the given response headers, body B (default: the request body)
                      with Content-Type T (default application/json)
  /dynamic           request body {"headers": {name: value}, "status": N, "body": <json>, "delayMs": D}:
                      after D ms (0), answers with those response headers, status (200) and JSON body
                      (lets a client drive the backend, and make its calls finish out of order)
  /proxy/...          JSON {"method","path","query","body","headers"} of the request (reverse-proxy target)
  GET  /recorded/all[?since=N&path=P&prefix=P&conn=ID]  recorded requests (seq >= N, filters optional)
  GET  /recorded/disconnect                          bodies the disconnect hooks delivered
  POST /recorded/clear                               forgets everything
"""
import base64
import json
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BINARY_BODY = b"\x00\x01\x02binary\xfe\xff\x80\xc3\x28end"
TEXT_BODY = b"hello text"
BAD_JSON_BODY = b'{"unterminated": [1, 2'
GARBAGE = b"\x00\x01this is not HTTP at all\r\n\r\n\xff\xfe"
WELCOME_BODY = b'{"welcome":true}'

_lock = threading.Lock()
_records = []          # dicts, index == seq
_disconnects = []      # parsed JSON bodies delivered to /disconnect*
_flaky_attempts = {}   # connectionId -> attempts seen by /disconnect-flaky
_done_counter = [0]


def _record(handler, body):
    with _lock:
        rec = {
            "seq": len(_records),
            "method": handler.command,
            "peer": handler.client_address[1],
            "path": handler.path,
            "headers": [[k, v] for k, v in handler.headers.items()],
            "body_b64": base64.b64encode(body).decode("ascii"),
            "body": body.decode("utf-8", "replace"),
            "t": time.time(),
            "done": None,
        }
        _records.append(rec)
        return rec


def _mark_done(rec):
    with _lock:
        _done_counter[0] += 1
        rec["done"] = _done_counter[0]


def _header(rec, name):
    lname = name.lower()
    for k, v in rec["headers"]:
        if k.lower() == lname:
            return v
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "e2e-backend/1.0"
    disable_nagle_algorithm = True   # headers and body go out in one write anyway
    timeout = 120                    # idle keep-alive connections do not live forever

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, BrokenPipeError, TimeoutError, OSError):
            self.close_connection = True

    # One dispatcher for every method.
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until empty line
                    while True:
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    break
                out += self.rfile.read(size)
                self.rfile.readline(3)
            return bytes(out)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body=b"", content_type="application/json", headers=(), close=False):
        reason = self.responses.get(status, ("Status",))[0]
        lines = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}"]
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        for k, v in headers:
            lines.append(f"{k}: {v}")
        if close:
            lines.append("Connection: close")
            self.close_connection = True
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not no_body and self.command != "HEAD":
            data += body
        self.wfile.write(data)
        self.wfile.flush()

    def _json(self, status, obj, headers=()):
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _dispatch(self):
        body = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/recorded/"):
            return self._recorded(path, urllib.parse.parse_qs(url.query))
        rec = _record(self, body)
        try:
            self._route(path, body, rec)
        finally:
            _mark_done(rec)

    def _route(self, path, body, rec):
        parts = path.strip("/").split("/")
        head = parts[0]
        if head == "echo":
            ct = self.headers.get("Content-Type") or "application/octet-stream"
            self._send(200, body, ct)
        elif head == "slow" and len(parts) == 2:
            time.sleep(int(parts[1]) / 1000.0)
            self._send(200, b'{"ok":true}', "application/json")
        elif head == "status" and len(parts) == 2:
            code = int(parts[1])
            self._send(code, json.dumps({"status": code}).encode(), "application/json")
        elif head == "garbage":
            self.wfile.write(GARBAGE)
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif head == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
        elif head == "big" and len(parts) == 2:
            self._send(200, b"x" * int(parts[1]), "text/plain")
        elif head == "bigchunked" and len(parts) == 2:
            self._big_chunked(int(parts[1]))
        elif head == "partial" and len(parts) == 2:
            self._partial(rst=(parts[1] == "rst"))
        elif head == "hang":
            self._hang()
        elif head == "trickle" and len(parts) == 3:
            self._trickle(int(parts[1]), int(parts[2]) / 1000.0)
        elif head == "rawresp" and len(parts) == 2:
            self._raw_response(body, parts[1])
        elif head == "text":
            self._send(200, TEXT_BODY, "text/plain; charset=utf-8")
        elif head == "binary":
            self._send(200, BINARY_BODY, "application/octet-stream")
        elif head == "badjson":
            self._send(200, BAD_JSON_BODY, "application/json")
        elif head == "headers":
            lower = {}
            for k, v in self.headers.items():
                lk = k.lower()
                lower[lk] = lower[lk] + ", " + v if lk in lower else v
            self._json(200, {"headers": lower, "list": [[k, v] for k, v in self.headers.items()]})
        elif head == "hook" and len(parts) == 2 and parts[1] == "accept":
            user = "anon"
            try:
                q = urllib.parse.parse_qs(json.loads(body).get("query", "").lstrip("?"))
                user = q.get("user", ["anon"])[0]
            except (ValueError, AttributeError):
                pass
            self._send(200, WELCOME_BODY, "application/json",
                       headers=[("Gateway-Set-User", "u-" + user), ("Gateway-Join", "lobby,news")])
        elif head == "hook" and len(parts) == 2 and parts[1] == "reject":
            self._send(403, b'{"error":"nope"}', "application/json")
        elif head == "disconnect":
            self._disconnect(body)
        elif head == "disconnect-flaky" and len(parts) == 2:
            try:
                cid = json.loads(body).get("connectionId")
            except ValueError:
                cid = None
            with _lock:
                n = _flaky_attempts.get(cid, 0) + 1
                _flaky_attempts[cid] = n
            if n <= int(parts[1]):
                self._json(500, {"error": "flaky", "attempt": n})
            else:
                self._disconnect(body)
        elif head == "no-content":
            self._send(204)
        elif head == "respond":
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
            status = int(q.get("status", ["200"])[0])
            hdrs = [tuple(x.split(":", 1)) for x in q.get("h", [])]
            out = q["body"][0].encode() if "body" in q else body
            self._send(status, out, q.get("ct", ["application/json"])[0],
                       headers=[(k.strip(), v.strip()) for k, v in hdrs])
        elif head == "dynamic":
            spec = json.loads(body or b"{}")
            if spec.get("delayMs"):
                time.sleep(spec["delayMs"] / 1000.0)
            out = json.dumps(spec.get("body", {})).encode()
            self._send(int(spec.get("status", 200)), out, "application/json",
                       headers=list(spec.get("headers", {}).items()))
        elif head == "proxy":
            u = urllib.parse.urlsplit(self.path)
            self._json(200, {"method": self.command, "path": u.path, "query": u.query,
                             "body": body.decode("utf-8", "replace"),
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
        else:
            self._json(404, {"error": "no such endpoint", "path": path})

    def _big_chunked(self, n):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        left = n
        while left > 0:
            k = min(8192, left)
            self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
            left -= k
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _partial(self, rst):
        """A response cut off mid-body: the head promises 1000 bytes, 100 arrive, then the connection
        ends (RST, or an orderly FIN)."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
                         + b"p" * 100)
        self.wfile.flush()
        time.sleep(0.05)  # the head and the first bytes reach the gateway before the connection ends
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _hang(self):
        """Never answers. Returns once the peer closes the connection (or after 60 s), so the thread
        does not outlive the test."""
        self.close_connection = True
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.connection], [], [], 0.1)
            if r:
                try:
                    if not self.connection.recv(4096, socket.MSG_PEEK):
                        return
                    self.connection.recv(4096)
                except OSError:
                    return

    def _trickle(self, n, gap):
        body = bytes(ord("0") + i % 10 for i in range(n))
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % n)
        pieces = [head[i:i + 8] for i in range(0, len(head), 8)] + [body[i:i + 1] for i in range(n)]
        for piece in pieces:
            self.wfile.write(piece)
            self.wfile.flush()
            time.sleep(gap)

    def _raw_response(self, body, then):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        self.wfile.write(base64.b64decode(q["b64"][0] if "b64" in q else json.loads(body)["b64"]))
        self.wfile.flush()
        if then == "keep":
            return
        time.sleep(0.05)
        self.close_connection = True
        try:
            if then == "rst":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            elif then == "fin":
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self._hang()
        except OSError:
            pass

    def _disconnect(self, body):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {"unparsable": body.decode("utf-8", "replace")}
        with _lock:
            _disconnects.append(parsed)
        self._json(200, {"ok": True})

    def _recorded(self, path, query):
        if path == "/recorded/all":
            since = int(query.get("since", ["0"])[0])
            exact = query.get("path", [None])[0]
            prefix = query.get("prefix", [None])[0]
            conn = query.get("conn", [None])[0]
            with _lock:
                out = []
                for r in _records[since:]:
                    if exact is not None and r["path"] != exact:
                        continue
                    if prefix is not None and not r["path"].startswith(prefix):
                        continue
                    if conn is not None and _header(r, "Gateway-Connection-Id") != conn:
                        continue
                    out.append(dict(r))
            self._json(200, out)
        elif path == "/recorded/count":
            with _lock:
                n = len(_records)
            self._json(200, {"count": n})
        elif path == "/recorded/disconnect":
            with _lock:
                out = list(_disconnects)
            self._json(200, out)
        elif path == "/recorded/clear":
            with _lock:
                _records.clear()
                _disconnects.clear()
                _flaky_attempts.clear()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "no such recording"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096

    def handle_error(self, request, client_address):  # never die, never spam
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = Server(("127.0.0.1", port), Handler)
    print(f"PORT {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
