#!/usr/bin/env node
// A chat backend for the gateway, Node standard library only (the same app as ../chat-python).
//
//   POST /ws/handshake   handshake hook: names the user guest-<n>, joins room "lobby", says hello
//   POST /ws/disconnect  disconnect hook: logs who left
//   POST /messages       chat.send: {"text": "..."} -> {"text", "from", "at"} (the route delivers to the room)
//   POST /rpc            user.*: {"command", "user", "rooms"}
//
//   node backend.mjs [--port 9000]
import http from "node:http";

const i = process.argv.indexOf("--port");
const port = i > 0 ? Number(process.argv[i + 1]) : 9000;
let guests = 0;

function reply(res, status, obj, headers = {}) {
  const body = obj === undefined ? "" : JSON.stringify(obj);
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let data;
    try {
      data = chunks.length ? JSON.parse(Buffer.concat(chunks)) : undefined;
    } catch {
      data = undefined;
    }
    const user = req.headers["gateway-user"];
    if (req.method !== "POST") return reply(res, 405, { error: "POST only" });
    switch (req.url) {
      case "/ws/handshake": {
        const name = `guest-${++guests}`;
        console.log(`handshake ${data?.connectionId} -> ${name}`);
        return reply(res, 200, { hello: name }, { "Gateway-Set-User": name, "Gateway-Join": "lobby" });
      }
      case "/ws/disconnect":
        console.log(`disconnect ${data?.user} code=${data?.code}`);
        return reply(res, 204);
      case "/messages":
        if (typeof data?.text !== "string") return reply(res, 400, { error: 'expected {"text": "..."}' });
        return reply(res, 200, { text: data.text, from: user, at: new Date().toISOString() });
      case "/rpc": {
        const rooms = (req.headers["gateway-rooms"] ?? "").split(",").filter(Boolean);
        return reply(res, 200, { command: req.headers["gateway-command"], user, rooms });
      }
      default:
        return reply(res, 404, { error: "not found" });
    }
  });
});
// Keep-alive longer than the gateway's idle pool timeout would be ideal; Node's default 5 s is fine:
// the gateway opens a new connection when one was closed while idle.
server.listen(port, "127.0.0.1", () => console.log(`chat backend (node) on http://127.0.0.1:${server.address().port}/`));
