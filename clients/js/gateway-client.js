// A client for the gateway's `json` wire format (DESIGN §3): one ES module, no dependencies, for
// browsers and Node 18+. Requests are promises matched to replies by `id`; pushes go to handlers by
// `cmd`; the connection comes back by itself with exponential backoff and full jitter, and requests
// made while it is down wait in a bounded queue.
//
//   import { connect } from "./gateway-client.js";
//   const gw = connect("wss://example.com/chat");
//   gw.on("chat.send", (data) => console.log("push", data));
//   const reply = await gw.request("echo", { text: "hi" }, { timeoutMs: 2000 });

/** Defaults, each chosen for a chat-like app talking to a gateway a few milliseconds away. */
export const defaults = Object.freeze({
  /** First reconnect delay: short enough that a gateway restart is barely noticed. */
  initialDelayMs: 250,
  /** Longest reconnect delay: bounds how long a recovered gateway waits for its clients. */
  maxDelayMs: 30000,
  /** Growth of the delay per failed attempt. */
  backoffFactor: 2,
  /** A request's default timeout; the gateway's own backend timeout is 5 s, so 10 s covers it. */
  requestTimeoutMs: 10000,
  /** Requests held while offline; beyond this `request` rejects at once (`offline_queue_full`). */
  maxQueued: 100,
  /** Reconnect after the connection drops (false: `closed` for good). */
  reconnect: true,
});

/** The error a request rejects with: the gateway's `error` object (`code`, `message`, `status`),
 *  or a client-side one (`timeout`, `offline_queue_full`, `closed`, `not_sent`). */
export class GatewayError extends Error {
  constructor(code, message, status, cmd) {
    super(message || code);
    this.name = "GatewayError";
    this.code = code;
    if (status !== undefined) this.status = status;
    if (cmd !== undefined) this.cmd = cmd;
  }
}

/** Opens a client on `url` (`ws://` or `wss://`, the module's path). See `GatewayClient`. */
export function connect(url, options = {}) {
  return new GatewayClient(url, options);
}

/** States, in the order a connection goes through them. */
const STATES = ["connecting", "open", "reconnecting", "closed"];

export class GatewayClient {
  /**
   * @param {string} url  ws:// or wss:// URL of a `json` module.
   * @param {object} options  `WebSocket` (a constructor; default the global one, or the small Node
   *   implementation shipped here), `protocols`, `tls` (Node implementation only: `{ca,
   *   rejectUnauthorized}`), and the keys of `defaults`.
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = { ...defaults, ...options };
    this.state = "connecting";
    /** The first message of the connection when it is not an envelope (the handshake hook's body). */
    this.welcome = undefined;
    this._ws = null;
    this._attempt = 0;
    this._nextId = 1;
    this._pending = new Map(); // id -> {resolve, reject, timer, frame, sent}
    this._queue = []; // frames waiting for the connection, oldest first
    this._handlers = new Map(); // cmd or event -> Set(fn)
    this._retryTimer = null;
    this._closedByUser = false;
    this._open();
  }

  /** Sends `cmd` with `data` and resolves with the reply's `data`, or rejects with a `GatewayError`. */
  request(cmd, data, { timeoutMs } = {}) {
    const id = this._nextId++;
    const envelope = data === undefined ? { cmd, id } : { cmd, id, data };
    const frame = JSON.stringify(envelope);
    return new Promise((resolve, reject) => {
      if (this.state === "closed") return reject(new GatewayError("closed", "client is closed", undefined, cmd));
      const entry = { resolve, reject, frame, cmd, sent: false, timer: null };
      const ms = timeoutMs ?? this.options.requestTimeoutMs;
      entry.timer = setTimeout(() => {
        this._pending.delete(id);
        this._unqueue(entry);
        reject(new GatewayError("timeout", `no reply to ${cmd} within ${ms} ms`, undefined, cmd));
      }, ms);
      if (!this._sendOrQueue(entry)) {
        clearTimeout(entry.timer);
        return reject(new GatewayError("offline_queue_full", `more than ${this.options.maxQueued} requests waiting`, undefined, cmd));
      }
      this._pending.set(id, entry);
    });
  }

  /** Sends `cmd` without waiting for anything (no `id`: the gateway still calls the backend, and a
   *  reply, if the route sends one, arrives as a push). False when it could not even be queued. */
  send(cmd, data) {
    const frame = JSON.stringify(data === undefined ? { cmd } : { cmd, data });
    return this._sendOrQueue({ frame, sent: false });
  }

  /** Calls `fn(data, envelope)` for pushes of `cmd` (fan-out, deliveries without an `id` of ours),
   *  or `fn(...)` for the events `state` (new, old), `open`, `close` ({code, reason}), `welcome`
   *  (the first message when it is not an envelope), `message` (any other frame) and `error`.
   *  Returns a function that removes the handler. */
  on(name, fn) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(fn);
    return () => this._handlers.get(name)?.delete(fn);
  }

  /** Closes for good: pending and queued requests reject with `closed`. */
  close(code = 1000, reason = "") {
    this._closedByUser = true;
    clearTimeout(this._retryTimer);
    this._failAll("closed", "client closed");
    if (this._ws && this._ws.readyState <= 1) this._ws.close(code, reason);
    this._setState("closed");
  }

  // ---- internals

  _emit(name, ...args) {
    for (const fn of this._handlers.get(name) ?? []) {
      try {
        fn(...args);
      } catch (e) {
        if (name !== "error") this._emit("error", e);
      }
    }
  }

  _setState(s) {
    if (s === this.state) return;
    const old = this.state;
    this.state = s;
    this._emit("state", s, old);
  }

  async _open() {
    let Ctor = this.options.WebSocket ?? globalThis.WebSocket;
    if (!Ctor) Ctor = (await import("./node-websocket.js")).NodeWebSocket;
    if (this._closedByUser) return;
    let ws;
    try {
      ws = new Ctor(this.url, this.options.protocols, this.options.tls);
    } catch (e) {
      this._emit("error", e);
      return this._scheduleReconnect();
    }
    this._ws = ws;
    let first = true;
    ws.onopen = () => {
      this._attempt = 0;
      this._setState("open");
      this._emit("open");
      this._flushQueue();
    };
    ws.onmessage = (ev) => {
      const text = typeof ev.data === "string" ? ev.data : String(ev.data);
      const isFirst = first;
      first = false;
      this._receive(text, isFirst);
    };
    ws.onerror = (ev) => this._emit("error", ev?.error ?? ev);
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._emit("close", { code: ev?.code, reason: ev?.reason });
      // Requests already on the wire may or may not have reached the backend: they fail rather
      // than being sent twice. Queued ones (never sent) wait for the next connection.
      for (const [id, p] of this._pending) {
        if (!p.sent) continue;
        this._pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new GatewayError("not_sent", `connection lost before the reply to ${p.cmd}`, undefined, p.cmd));
      }
      if (this._closedByUser || !this.options.reconnect) {
        this._failAll("closed", "connection closed");
        this._setState("closed");
      } else {
        this._scheduleReconnect();
      }
    };
  }

  _scheduleReconnect() {
    if (this._closedByUser) return;
    this._setState("reconnecting");
    const o = this.options;
    const cap = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.backoffFactor, this._attempt));
    this._attempt++;
    // Full jitter: clients that lost the same gateway do not come back in one wave.
    const delay = Math.random() * cap;
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _receive(text, isFirst) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return this._emit("message", text);
    }
    if (msg === null || typeof msg !== "object" || typeof msg.cmd !== "string") {
      if (isFirst) {
        this.welcome = msg;
        return this._emit("welcome", msg);
      }
      return this._emit("message", msg);
    }
    if (msg.id !== undefined && this._pending.has(msg.id)) {
      const p = this._pending.get(msg.id);
      this._pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) {
        const e = new GatewayError(msg.error.code, msg.error.message, msg.error.status, msg.cmd);
        if (msg.error.retryAfterMs !== undefined) e.retryAfterMs = msg.error.retryAfterMs;
        p.reject(e);
      } else {
        p.resolve(msg.data);
      }
      return;
    }
    const handlers = this._handlers.get(msg.cmd);
    if (handlers && handlers.size) this._emit(msg.cmd, msg.data, msg);
    else this._emit("message", msg);
  }

  _sendOrQueue(entry) {
    if (this.state === "closed") return false;
    if (this._ws && this._ws.readyState === 1 && this._queue.length === 0) {
      this._ws.send(entry.frame);
      entry.sent = true;
      return true;
    }
    if (this._queue.length >= this.options.maxQueued) return false;
    this._queue.push(entry);
    return true;
  }

  _unqueue(entry) {
    const i = this._queue.indexOf(entry);
    if (i >= 0) this._queue.splice(i, 1);
  }

  _flushQueue() {
    while (this._queue.length && this._ws && this._ws.readyState === 1) {
      const entry = this._queue.shift();
      this._ws.send(entry.frame);
      entry.sent = true;
    }
  }

  _failAll(code, message) {
    for (const [, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayError(code, message, undefined, p.cmd));
    }
    this._pending.clear();
    this._queue = [];
  }
}

export { STATES };
