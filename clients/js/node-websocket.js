// The small part of the browser `WebSocket` API that gateway-client.js uses, for Node 18 and 20,
// which have no global WebSocket (Node 22 does, and is then used instead). RFC 6455 client side:
// the upgrade, masked text frames out, text/binary/fragmented frames in, ping → pong, close.
// Standard library only (node:net, node:tls, node:crypto).
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import tls from "node:tls";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest message accepted: the gateway's own `maxMessageBytes` default is 1 MiB; 64 MiB bounds
 *  memory without refusing any reply a real backend sends. */
const MAX_MESSAGE = 64 * 1024 * 1024;

export class NodeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  constructor(url, protocols, { rejectUnauthorized = true, ca } = {}) {
    const u = new URL(url);
    if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new SyntaxError(`not a ws:// or wss:// URL: ${url}`);
    this.url = url;
    this.readyState = 0;
    this.protocol = "";
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    const secure = u.protocol === "wss:";
    const port = Number(u.port || (secure ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, "");
    this._key = randomBytes(16).toString("base64");
    this._buf = Buffer.alloc(0);
    this._fragments = [];
    this._closeSent = false;
    this._closeInfo = { code: 1006, reason: "" };
    const onConnect = () => {
      const list = protocols ? (Array.isArray(protocols) ? protocols : [protocols]) : [];
      this._sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this._key}\r\nSec-WebSocket-Version: 13\r\n` +
          (list.length ? `Sec-WebSocket-Protocol: ${list.join(", ")}\r\n` : "") +
          "\r\n",
      );
    };
    this._sock = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized, ca, ALPNProtocols: ["http/1.1"] }, onConnect)
      : net.connect({ host, port }, onConnect);
    this._sock.setNoDelay(true);
    this._sock.on("data", (d) => this._data(d));
    this._sock.on("error", (e) => this._fire("onerror", { type: "error", error: e, message: e.message }));
    this._sock.on("close", () => this._finish());
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("WebSocket is not open");
    const payload = Buffer.from(String(text), "utf8");
    this._sock.write(frame(0x1, payload));
  }

  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return;
    if (this.readyState === 0) {
      this.readyState = 2;
      this._sock.destroy();
      return;
    }
    this.readyState = 2;
    this._sendClose(code, reason);
  }

  // ---- internals

  _fire(name, ev) {
    const fn = this[name];
    if (typeof fn === "function") fn.call(this, ev);
  }

  _sendClose(code, reason) {
    if (this._closeSent) return;
    this._closeSent = true;
    const r = Buffer.from(reason, "utf8");
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    this._sock.write(frame(0x8, p));
  }

  _finish() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this._fire("onclose", { type: "close", code: this._closeInfo.code, reason: this._closeInfo.reason, wasClean: this._closeInfo.code !== 1006 });
  }

  _fail(message) {
    this._fire("onerror", { type: "error", message });
    this._closeInfo = { code: 1006, reason: message };
    this._sock.destroy();
  }

  _data(d) {
    this._buf = this._buf.length ? Buffer.concat([this._buf, d]) : d;
    if (this.readyState === 0) {
      const end = this._buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this._buf.length > 16384) this._fail("handshake response too large");
        return;
      }
      const head = this._buf.subarray(0, end).toString("latin1");
      this._buf = this._buf.subarray(end + 4);
      const lines = head.split("\r\n");
      if (!/^HTTP\/1\.1 101 /.test(lines[0])) return this._fail(`handshake refused: ${lines[0]}`);
      const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const expected = createHash("sha1").update(this._key + GUID).digest("base64");
      if (headers.get("sec-websocket-accept") !== expected) return this._fail("bad Sec-WebSocket-Accept");
      this.protocol = headers.get("sec-websocket-protocol") ?? "";
      this.readyState = 1;
      this._fire("onopen", { type: "open" });
    }
    this._frames();
  }

  _frames() {
    while (this._buf.length >= 2) {
      const b0 = this._buf[0], b1 = this._buf[1];
      let len = b1 & 0x7f, at = 2;
      if (b1 & 0x80) return this._fail("masked frame from the server");
      if (len === 126) {
        if (this._buf.length < 4) return;
        len = this._buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this._buf.length < 10) return;
        len = Number(this._buf.readBigUInt64BE(2));
        at = 10;
      }
      if (len > MAX_MESSAGE) return this._fail("message too large");
      if (this._buf.length < at + len) return;
      const payload = this._buf.subarray(at, at + len);
      this._buf = this._buf.subarray(at + len);
      const fin = (b0 & 0x80) !== 0, op = b0 & 0x0f;
      if (op === 0x9) {
        if (this.readyState === 1) this._sock.write(frame(0xa, payload));
      } else if (op === 0xa) {
        // pong: nothing to do
      } else if (op === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this._closeInfo = { code, reason: payload.subarray(2).toString("utf8") };
        this.readyState = 2;
        this._sendClose(code === 1005 ? 1000 : code, "");
        this._sock.end();
      } else if (op === 0x0 || op === 0x1 || op === 0x2) {
        if (op !== 0x0) this._fragments = [{ op }];
        this._fragments.push(Buffer.from(payload));
        if (fin) {
          const [{ op: first }, ...parts] = this._fragments;
          this._fragments = [];
          const whole = Buffer.concat(parts);
          this._fire("onmessage", { type: "message", data: first === 0x1 ? whole.toString("utf8") : whole });
        }
      } else {
        return this._fail(`unknown opcode ${op}`);
      }
    }
  }
}

function frame(op, payload) {
  const mask = randomBytes(4);
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(6) : n < 65536 ? Buffer.alloc(8) : Buffer.alloc(14);
  head[0] = 0x80 | op;
  if (n < 126) head[1] = 0x80 | n;
  else if (n < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  mask.copy(head, head.length - 4);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, out]);
}
