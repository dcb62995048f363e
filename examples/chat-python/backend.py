#!/usr/bin/env python3
"""A chat backend for the gateway, Python standard library only (the same app as ../chat-node).

  POST /ws/handshake   handshake hook: names the user guest-<n>, joins room "lobby", says hello
  POST /ws/disconnect  disconnect hook: logs who left
  POST /messages       chat.send: {"text": "..."} -> {"text", "from", "at"} (the route delivers to the room)
  POST /rpc            user.*: {"command", "user", "rooms"}

  python3 backend.py [--port 9000]
"""
import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

guests = itertools.count(1)
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: the gateway reuses its connections

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None, headers=()):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        user = self.headers.get("Gateway-User")
        if self.path == "/ws/handshake":
            with lock:
                name = f"guest-{next(guests)}"
            print(f"handshake {data and data.get('connectionId')} -> {name}", flush=True)
            self.reply(200, {"hello": name}, [("Gateway-Set-User", name), ("Gateway-Join", "lobby")])
        elif self.path == "/ws/disconnect":
            print(f"disconnect {data and data.get('user')} code={data and data.get('code')}", flush=True)
            self.reply(204)
        elif self.path == "/messages":
            text = data.get("text") if isinstance(data, dict) else None
            if not isinstance(text, str):
                return self.reply(400, {"error": 'expected {"text": "..."}'})
            self.reply(200, {"text": text, "from": user, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        elif self.path == "/rpc":
            rooms = [r for r in (self.headers.get("Gateway-Rooms") or "").split(",") if r]
            self.reply(200, {"command": self.headers.get("Gateway-Command"), "user": user, "rooms": rooms})
        else:
            self.reply(404, {"error": "not found"})


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9000)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"chat backend (python) on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()
