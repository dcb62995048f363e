// gateway-client.js against the real gateway and backend (see harness.js): round trip, errors,
// pushes, the handshake hook's first message, restart and reconnect, request timeout, the offline
// queue's bound, close.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, GatewayError } from "../gateway-client.js";
import { startBackend, startGateway, waitFor, sleep } from "./harness.js";

let backend, gw;

before(async () => {
  backend = await startBackend();
  const u = backend.url;
  const routes = {
    echo: u("/echo"),
    err500: u("/status/500"),
    slow: { url: u("/slow/1000"), timeoutMs: 5000 },
    shout: { url: u("/echo"), deliver: "others" },
  };
  gw = await startGateway([
    { path: "/ws", parser: "json", routes },
    { path: "/hooked", parser: "json", routes, handshake: u("/hook/accept") },
  ]);
});

after(async () => {
  await gw?.stop();
  backend?.stop();
});

function opened(client) {
  return waitFor("open", () => client.state === "open");
}

test("round trip: the reply's data resolves the request", async () => {
  const c = connect(gw.url("/ws"));
  try {
    assert.deepEqual(await c.request("echo", { text: "hi", n: [1, 2] }), { text: "hi", n: [1, 2] });
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request("echo", i)));
    assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => i));
  } finally {
    c.close();
  }
});

test("errors reject with the gateway's error object", async () => {
  const c = connect(gw.url("/ws"));
  try {
    await assert.rejects(c.request("err500", {}), (e) => e instanceof GatewayError && e.code === "backend_error" && e.status === 500);
    await assert.rejects(c.request("nope"), (e) => e.code === "unknown_command" && /nope/.test(e.message));
    assert.deepEqual(await c.request("echo", "still fine"), "still fine");
  } finally {
    c.close();
  }
});

test("pushes reach the handler of their command", async () => {
  const a = connect(gw.url("/ws"));
  const b = connect(gw.url("/ws"));
  try {
    await opened(a);
    await opened(b);
    const got = [];
    b.on("shout", (data, envelope) => got.push([data, envelope.id]));
    assert.equal(a.send("shout", { from: "a" }), true);
    await waitFor("push", () => got.length === 1);
    assert.deepEqual(got, [[{ from: "a" }, undefined]]);
  } finally {
    a.close();
    b.close();
  }
});

test("the handshake hook's first message is the welcome", async () => {
  const c = connect(gw.url("/hooked?user=ann"));
  let seen;
  c.on("welcome", (m) => (seen = m));
  try {
    await waitFor("welcome", () => seen !== undefined);
    assert.deepEqual(seen, { welcome: true });
    assert.deepEqual(c.welcome, { welcome: true });
    assert.deepEqual(await c.request("echo", 1), 1);
  } finally {
    c.close();
  }
});

test("request timeout rejects with timeout and a later reply is ignored", async () => {
  const c = connect(gw.url("/ws"));
  try {
    const t0 = Date.now();
    await assert.rejects(c.request("slow", {}, { timeoutMs: 150 }), (e) => e.code === "timeout");
    assert.ok(Date.now() - t0 < 900, "rejected at the client's timeout, not the backend's reply");
    await sleep(1000); // the late reply arrives and must not break anything
    assert.deepEqual(await c.request("echo", "after"), "after");
  } finally {
    c.close();
  }
});

test("server restart: reconnects with backoff and sends the requests queued meanwhile", async () => {
  const c = connect(gw.url("/ws"), { initialDelayMs: 50, maxDelayMs: 200 });
  const states = [];
  c.on("state", (s) => states.push(s));
  try {
    await opened(c);
    await gw.stop();
    await waitFor("reconnecting", () => c.state === "reconnecting");
    const queued = [c.request("echo", "q1"), c.request("echo", "q2")];
    await sleep(300); // a few failed attempts while the gateway is down
    await gw.start();
    assert.deepEqual(await Promise.all(queued), ["q1", "q2"]);
    assert.equal(c.state, "open");
    assert.ok(states.includes("reconnecting") && states.at(-1) === "open", states.join(","));
  } finally {
    c.close();
  }
});

test("the offline queue is bounded", async () => {
  const c = connect(gw.url("/ws"), { initialDelayMs: 50, maxDelayMs: 100, maxQueued: 2 });
  try {
    await opened(c);
    await gw.stop();
    await waitFor("reconnecting", () => c.state === "reconnecting");
    const q = [c.request("echo", 1), c.request("echo", 2)];
    await assert.rejects(c.request("echo", 3), (e) => e.code === "offline_queue_full");
    await gw.start();
    assert.deepEqual(await Promise.all(q), [1, 2]);
  } finally {
    c.close();
  }
});

test("close rejects pending requests and stays closed", async () => {
  const c = connect(gw.url("/ws"));
  await opened(c);
  const p = c.request("slow", {});
  c.close();
  await assert.rejects(p, (e) => e.code === "closed");
  assert.equal(c.state, "closed");
  await assert.rejects(c.request("echo", 1), (e) => e.code === "closed");
});
