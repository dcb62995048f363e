#!/usr/bin/python3
"""Several HTTP/1.1 endpoints of one service, for the upstream tests, in one process.

`upstream_backend.py N` serves N endpoints on free loopback ports plus a control port, prints
`PORTS <control> <port 0> ... <port N-1>` on stdout and serves until killed. Standard library only
(ThreadingHTTPServer, keep-alive, Content-Length bodies).

Each endpoint answers every path except `/healthz` with its configured status (200) after its
configured delay (0 ms) and the body `{"endpoint": <i>, "path": "<path>", "body": "<request body>"}`,
and records the request (path, Gateway-Request-Id, Idempotency-Key, time). `/healthz` answers the
configured health status (200) and is counted apart.

Control (on the control port):
  POST /ep/<i>/config   {"status": N, "delayMs": D, "health": H}  (any subset)
  POST /ep/<i>/stop     graceful stop, as a rolling restart does it: the listener closes (new
                        connections are refused), calls in progress are answered, then every
                        keep-alive connection is closed
  POST /ep/<i>/kill     as if the process died: the listener closes and every connection, busy or
                        idle, is reset at once (SO_LINGER 0); calls in progress get no answer
  POST /ep/<i>/start    listens again on the same port
  GET  /ep/<i>          {"calls": N, "health": M, "records": [...]}
  POST /reset           every endpoint back to 200, no delay, health 200, counts cleared
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    def __init__(self, index):
        self.index = index
        self.lock = threading.Lock()
        self.port = 0
        self.server = None
        self.thread = None
        self.conns = set()      # sockets of open connections
        self.busy = set()       # sockets with a request being answered
        self.closing = set()    # idle sockets a graceful stop is closing: a request read on one is not answered
        self.stopping = False
        self.reset()

    def reset(self):
        with self.lock:
            self.status = 200
            self.delay_ms = 0
            self.health = 200
            self.calls = 0
            self.health_calls = 0
            self.records = []

    def start(self):
        ep = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                # The head and the body are two writes: without this, Nagle holds the body until
                # the gateway's delayed ACK (40 ms).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with ep.lock:
                    ep.conns.add(self.connection)

            def finish(self):
                with ep.lock:
                    ep.conns.discard(self.connection)
                    ep.busy.discard(self.connection)
                    ep.closing.discard(self.connection)
                super().finish()

            def handle_one_request(self):
                # Marked busy from the first byte of a request until its answer is written, so a
                # graceful stop closes only idle connections.
                try:
                    self.raw_requestline = self.rfile.readline(65537)
                except OSError:
                    self.close_connection = True
                    return
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                with ep.lock:
                    if self.connection in ep.closing:
                        # The stop chose this connection as idle before this request was read: it
                        # is not answered (no byte), as a server closing an idle connection does,
                        # so the client sends it again elsewhere. Never a half-written answer.
                        self.close_connection = True
                        return
                    ep.busy.add(self.connection)
                try:
                    if not self.parse_request():
                        return
                    self.answer()
                    self.wfile.flush()
                finally:
                    with ep.lock:
                        ep.busy.discard(self.connection)
                        if ep.stopping:
                            self.close_connection = True

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.path.split("?")[0] == "/healthz":
                    with ep.lock:
                        ep.health_calls += 1
                        status = ep.health
                    return self.reply(status, b'{"health":true}')
                with ep.lock:
                    ep.calls += 1
                    ep.records.append({
                        "path": self.path,
                        "requestId": self.headers.get("Gateway-Request-Id"),
                        "idempotencyKey": self.headers.get("Idempotency-Key"),
                        "t": time.time(),
                    })
                    status, delay = ep.status, ep.delay_ms
                if delay:
                    time.sleep(delay / 1000)
                out = json.dumps({"endpoint": ep.index, "path": self.path, "body": body.decode("utf-8", "replace")})
                self.reply(status, out.encode())

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                with ep.lock:
                    if ep.stopping:
                        self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        with self.lock:
            self.stopping = False
        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.accept_loop, args=(self.server,), daemon=True)
        self.thread.start()

    @staticmethod
    def accept_loop(server):
        # A plain blocking accept rather than serve_forever: stop() then closes the listener at once
        # (serve_forever would keep it open until its next poll, and connections the kernel
        # accepted meanwhile would be reset unanswered when it closed).
        while True:
            try:
                conn, addr = server.socket.accept()
            except OSError:
                return
            server.process_request(conn, addr)

    def close_listener(self):
        """Stops accepting: connects are refused from here on (shutdown wakes the accept). Returns
        False when the endpoint was not listening."""
        server, self.server = self.server, None
        if server is None:
            return False
        with self.lock:
            self.stopping = True
        try:
            server.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        server.socket.close()
        self.thread.join(5)
        return True

    def stop(self):
        if not self.close_listener():
            return
        # Idle keep-alive connections are closed now; busy ones close after their answer.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.lock:
                idle = [c for c in self.conns if c not in self.busy]
                self.closing.update(idle)   # under the lock: a connection is busy or closing, never both
                left = len(self.conns)
            for c in idle:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if left == 0:
                break
            time.sleep(0.01)

    def kill(self):
        if not self.close_listener():
            return
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def state(self):
        with self.lock:
            return {"calls": self.calls, "health": self.health_calls, "records": list(self.records),
                    "listening": self.server is not None}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    endpoints = [Endpoint(i) for i in range(n)]
    for e in endpoints:
        e.start()

    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send_json(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def endpoint(self):
            parts = self.path.strip("/").split("/")
            if len(parts) >= 2 and parts[0] == "ep" and parts[1].isdigit() and int(parts[1]) < n:
                return endpoints[int(parts[1])], parts[2:]
            return None, None

        def do_GET(self):
            ep, rest = self.endpoint()
            if ep is None or rest:
                return self.send_json(404, {"error": "no such endpoint"})
            self.send_json(200, ep.state())

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if self.path == "/reset":
                for e in endpoints:
                    e.reset()
                return self.send_json(200, {"ok": True})
            ep, rest = self.endpoint()
            if ep is None:
                return self.send_json(404, {"error": "no such endpoint"})
            if rest == ["config"]:
                with ep.lock:
                    ep.status = body.get("status", ep.status)
                    ep.delay_ms = body.get("delayMs", ep.delay_ms)
                    ep.health = body.get("health", ep.health)
            elif rest == ["stop"]:
                ep.stop()
            elif rest == ["kill"]:
                ep.kill()
            elif rest == ["start"]:
                if ep.server is None:
                    ep.start()
            else:
                return self.send_json(404, {"error": "unknown action"})
            self.send_json(200, ep.state())

    class ControlServer(ThreadingHTTPServer):
        daemon_threads = True

    control = ControlServer(("127.0.0.1", 0), Control)
    print("PORTS", control.server_address[1], " ".join(str(e.port) for e in endpoints), flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
