#!/usr/bin/env python3
"""Demo backend for the gateway (Python 3 standard library only).

Serves a small chat page and the HTTP endpoints that gateway.json points at:

  GET  /               the demo page (connects to ws://<page host>:8080/chat with clients/js)
  GET  /gateway-client.js  the JavaScript client the page imports
  POST /ws/handshake   handshake hook: accepts, names the user guest-<n>, joins room "lobby"
  POST /ws/disconnect  disconnect hook: logs it
  POST /messages       chat.send: {"text": ...} -> {"text", "from", "at"}
  POST /rpc            user.*: -> {"command", "user"}

  python3 demo/backend.py [--host 127.0.0.1] [--port 9000] [--gateway-port 8080]
"""

import argparse
import itertools
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The JavaScript client the page imports: clients/js in the repository, or $GATEWAY_CLIENT_JS
# (the compose files mount it).
CLIENT_JS = os.environ.get("GATEWAY_CLIENT_JS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "clients", "js", "gateway-client.js")

_guests = itertools.count(1)
_guests_lock = threading.Lock()


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gateway demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  #log { border: 1px solid #ccc; height: 22rem; overflow-y: auto; padding: .5rem; font: 13px/1.4 monospace;
         white-space: pre-wrap; word-break: break-all; }
  .out { color: #555; } .in { color: #064; } .err { color: #b00; } .sys { color: #888; font-style: italic; }
  form { display: flex; gap: .5rem; margin-top: .5rem; } #text { flex: 1; }
</style>
</head>
<body>
<h1>gateway demo</h1>
<p>WebSocket: <code id="url"></code> &mdash; <span id="state">connecting&hellip;</span>
  <button id="reconnect" type="button">reconnect</button></p>
<div id="log"></div>
<form id="form">
  <input id="text" autocomplete="off" placeholder="message (sent as chat.send)" autofocus>
  <button type="submit">send</button>
  <button id="echo" type="button" title="the gateway answers this itself (local echo route)">echo</button>
  <button id="whoami" type="button" title="user.whoami, routed by the user.* wildcard">whoami</button>
</form>
<script type="module">
// The page uses the JavaScript client (clients/js/gateway-client.js, served by this backend).
import { connect } from "/gateway-client.js";

const params = new URLSearchParams(location.search);
const url = params.get("ws") || ("ws://" + (location.hostname || "127.0.0.1") + ":__GATEWAY_PORT__/chat");
document.getElementById("url").textContent = url;
const logEl = document.getElementById("log");
const stateEl = document.getElementById("state");
let gw = null;

function show(cls, text) {
  const line = document.createElement("div");
  line.className = cls;
  line.textContent = new Date().toLocaleTimeString() + "  " + text;
  logEl.appendChild(line);
  logEl.scrollTop = logEl.scrollHeight;
}

function chatLine(d) {
  return d && typeof d === "object" ? d.from + ": " + d.text + "  [" + d.at + "]" : JSON.stringify(d);
}

function start() {
  if (gw) gw.close(1000, "reconnect");
  gw = connect(url);
  window.gatewayClient = gw;   // for the browser test and the curious
  gw.on("state", (s) => { stateEl.textContent = s; show("sys", s); });
  gw.on("welcome", (m) => show("in", "\u2190 " + JSON.stringify(m)));
  gw.on("chat.send", (d) => show("in", "\u2190 " + chatLine(d)));   // others in the room
  gw.on("message", (m) => show("in", "\u2190 " + JSON.stringify(m)));
}

async function request(cmd, data) {
  show("out", "\u2192 " + cmd + (data === undefined ? "" : " " + JSON.stringify(data)));
  try {
    const reply = await gw.request(cmd, data);
    show("in", "\u2190 " + cmd + " " + (cmd === "chat.send" ? chatLine(reply) : JSON.stringify(reply)));
  } catch (e) {
    show("err", "\u2190 " + cmd + " error " + e.code + (e.status ? " (" + e.status + ")" : "") + ": " + e.message);
  }
}

document.getElementById("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value === "") return;
  request("chat.send", { text: input.value });
  input.value = "";
});
document.getElementById("echo").addEventListener("click", () => {
  const input = document.getElementById("text");
  request("echo", { text: input.value || "ping" });
});
document.getElementById("whoami").addEventListener("click", () => request("user.whoami"));
document.getElementById("reconnect").addEventListener("click", start);
start();
</script>
</body>
</html>
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections
    server_version = "gateway-demo-backend"
    page = b""

    def log_message(self, fmt, *args):  # the default access log is replaced by one line per call
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _json(self, raw):
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send(self, status, body=b"", content_type="application/json", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def _send_json(self, status, obj, headers=None):
        self._send(status, json.dumps(obj).encode(), headers=headers)

    def do_GET(self):
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            self._send(200, self.page, "text/html; charset=utf-8")
            log(f"GET {self.path} (demo page)")
        elif self.path.split("?", 1)[0] == "/gateway-client.js":
            try:
                with open(CLIENT_JS, "rb") as f:
                    self._send(200, f.read(), "text/javascript; charset=utf-8")
            except OSError as e:
                self._send_json(404, {"error": f"client not found: {e}"})
        elif self.path == "/favicon.ico":
            self._send(204)
        else:
            self._send_json(404, {"error": "not found"})
            log(f"GET {self.path} -> 404")

    def do_POST(self):
        raw = self._body()
        path = self.path.split("?", 1)[0]
        conn = (self.headers.get("Gateway-Connection-Id") or "-")[:8]
        user = self.headers.get("Gateway-User")
        if path == "/ws/handshake":
            info = self._json(raw) or {}
            with _guests_lock:
                name = f"guest-{next(_guests)}"
            log(f"handshake  conn={conn} from {info.get('remoteAddress')} path={info.get('path')} -> {name}, room lobby")
            self._send_json(200, {"hello": name}, {"Gateway-Set-User": name, "Gateway-Join": "lobby"})
        elif path == "/ws/disconnect":
            info = self._json(raw) or {}
            log(f"disconnect conn={str(info.get('connectionId'))[:8]} user={info.get('user')} code={info.get('code')} "
                f"reason={info.get('reason')!r} after {info.get('durationMs')} ms")
            self._send(204)
        elif path == "/messages":
            data = self._json(raw)
            text = data.get("text") if isinstance(data, dict) else None
            if not isinstance(text, str):
                log(f"chat.send  conn={conn} user={user} -> 400 (no data.text)")
                self._send_json(400, {"error": 'expected data {"text": "..."}'})
                return
            log(f"chat.send  conn={conn} user={user} req={self.headers.get('Gateway-Request-Id')} text={text!r}")
            self._send_json(200, {"text": text, "from": user, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        elif path == "/rpc":
            command = self.headers.get("Gateway-Command")
            log(f"{command or '-':<10} conn={conn} user={user} rooms={self.headers.get('Gateway-Rooms')}")
            self._send_json(200, {"command": command, "user": user})
        else:
            log(f"POST {path} -> 404")
            self._send_json(404, {"error": "not found"})


def main():
    ap = argparse.ArgumentParser(description="Demo backend for the gateway.")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=9000, help="port to listen on (default 9000)")
    ap.add_argument("--gateway-port", type=int, default=8080,
                    help="port of the gateway the page connects to (default 8080)")
    args = ap.parse_args()
    Handler.page = PAGE.replace("__GATEWAY_PORT__", str(args.gateway_port)).encode()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    # Exit cleanly on SIGTERM too (as process 1 in a container, SIGTERM is otherwise ignored).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(f"demo backend on http://{args.host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
