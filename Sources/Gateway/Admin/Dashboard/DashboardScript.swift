/// The dashboard's script (see `DashboardPage`): reads `GET /v1/stream` with `fetch` (an
/// `EventSource` cannot send the `Authorization` header), keeps the last ten minutes of frames,
/// and turns counter differences into rates, and latency-bucket differences into percentiles.
enum DashboardScript {
    static let text = #"""
"use strict";
const KEY = "gatewayAdminToken";
const KEEP = 600;                 // frames kept: ten minutes at one per second
const WINDOW_MS = 60000;          // tables: the last minute
const frames = [];
const $ = (id) => document.getElementById(id);

function takeToken() {
  // #token=... (a fragment never reaches the server or its logs), then sessionStorage.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

function login(message) {
  $("board").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setStatus("offline", "");
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "pill " + (cls || "");
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("token").value);
  $("token").value = "";
  start();
});

let generation = 0;
async function start() {
  const token = takeToken();
  if (!token) return login();
  const mine = ++generation;
  $("login").hidden = true;
  let res;
  try {
    res = await fetch("/v1/stream", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
  } catch (e) {
    setStatus("offline: " + e.message, "bad");
    return setTimeout(() => mine === generation && start(), 2000);
  }
  if (res.status === 401) {
    sessionStorage.removeItem(KEY);
    return login("that token was refused");
  }
  if (!res.ok || !res.body) {
    setStatus("error " + res.status, "bad");
    return setTimeout(() => mine === generation && start(), 2000);
  }
  $("board").hidden = false;
  setStatus("live", "live");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of block.split("\n")) {
          if (line.startsWith("data: ")) onFrame(JSON.parse(line.slice(6)));
        }
      }
    }
  } catch (e) {
    // dropped: reconnect below
  }
  setStatus("reconnecting", "bad");
  setTimeout(() => mine === generation && start(), 2000);
}

function onFrame(f) {
  frames.push(f);
  if (frames.length > KEEP) frames.shift();
  render();
}

/** The newest frame at least `ms` older than the last one (or the oldest kept). */
function before(ms) {
  const last = frames[frames.length - 1];
  for (let i = frames.length - 2; i >= 0; i--) if (last.t - frames[i].t >= ms) return frames[i];
  return frames[0];
}

function rate(a, b, key) {
  if (!a || !b || b.t <= a.t) return 0;
  return Math.max(0, (b.counters[key] - a.counters[key]) / ((b.t - a.t) / 1000));
}

const fmt = (n) => (n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n)));
const bytes = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B");
const ms = (s) => (s === null ? "–" : s >= 1 ? s.toFixed(2) + " s" : (s * 1000).toFixed(s < 0.01 ? 2 : 1) + " ms");

/** Quantile q of a latency histogram given as bucket counts (the last one +Inf), interpolated
 *  within its bucket as Prometheus' histogram_quantile does; null without samples. */
function quantile(q, counts, bounds) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (seen + counts[i] >= rank && counts[i] > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lo = i === 0 ? 0 : bounds[i - 1];
      return lo + (bounds[i] - lo) * ((rank - seen) / counts[i]);
    }
    seen += counts[i];
  }
  return bounds[bounds.length - 1];
}

function rows(tbody, data) {
  tbody.replaceChildren(...data.map((cells) => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      if (typeof c === "number" || /^[\d.]+( |$)/.test(c)) td.className = "num";
      tr.appendChild(td);
    }
    return tr;
  }));
}

function deltaCounts(now, old) {
  const out = {};
  for (const k of Object.keys(now)) out[k] = now[k] - ((old && old[k]) || 0);
  return out;
}

function render() {
  const f = frames[frames.length - 1];
  const p = frames.length > 1 ? frames[frames.length - 2] : null;
  const w = before(WINDOW_MS);
  $("about").textContent = `${f.version} · engine ${f.engine} · up ${f.uptimeSeconds} s${f.cluster ? " · node " + f.cluster.node : ""}${f.draining ? " · draining" : ""}`;
  $("websockets").textContent = fmt(f.websockets);
  $("connections-sub").textContent = `${fmt(f.connections)} connections open`;
  $("open-close").textContent = `${fmt(rate(p, f, "opened"))} / ${fmt(rate(p, f, "closed"))}`;
  $("accepted-sub").textContent = `${fmt(f.counters.accepted)} accepted, ${fmt(f.counters.refused)} refused`;
  $("messages").textContent = `${fmt(rate(p, f, "messagesIn"))} / ${fmt(rate(p, f, "messagesOut"))}`;
  $("fanout-sub").textContent = `${fmt(rate(p, f, "fanout"))}/s fan-out, ${fmt(rate(p, f, "rateLimited"))}/s rate-limited`;
  $("inflight").textContent = fmt(f.backendInFlight);
  const calls = (fr) => fr.routes.reduce((a, r) => a + Object.values(r.outcomes).reduce((x, y) => x + y, 0), 0);
  $("calls-sub").textContent = p ? `${fmt(Math.max(0, (calls(f) - calls(p)) / ((f.t - p.t) / 1000)))} calls/s` : "";
  $("queued").textContent = bytes(f.queuedBytes);
  $("slow-sub").textContent = `${fmt(f.counters.slowConsumers)} slow consumers closed`;
  $("hooks").textContent = fmt(f.hooksPending);
  $("hooks-sub").textContent = `${fmt(f.counters.hooksDelivered)} delivered, ${fmt(f.counters.hookFailures)} failed attempts`;

  const secs = Math.max(0.001, (f.t - w.t) / 1000);
  rows($("routes").tBodies[0], f.routes.map((r, i) => {
    const o = w.routes[i] && w.routes[i].route === r.route ? w.routes[i] : null;
    const b = r.buckets.map((c, k) => c - (o ? o.buckets[k] : 0));
    const out = deltaCounts(r.outcomes, o && o.outcomes);
    const n = Object.values(out).reduce((x, y) => x + y, 0);
    const errs = Object.entries(out).filter(([k, v]) => k !== "ok" && v > 0).map(([k, v]) => `${k} ${v}`).join(", ");
    return [r.module, r.route, (n / secs).toFixed(1), ms(quantile(0.5, b, f.latencyBounds)), ms(quantile(0.99, b, f.latencyBounds)), errs || "–"];
  }).sort((a, b) => parseFloat(b[2]) - parseFloat(a[2]) || (a[0] + a[1]).localeCompare(b[0] + b[1])));   // busiest first
  rows($("modules").tBodies[0], Object.entries(f.modules).map(([m, n]) => [m, n]));
  rows($("loops").tBodies[0], f.loops.map((l) => [l.index, l.connections, l.websockets, bytes(l.queuedBytes), l.backendInFlight]));
  const closes = deltaCounts(f.closeCodes, w.closeCodes);
  rows($("closes").tBodies[0], Object.entries(closes).filter(([, v]) => v > 0).map(([k, v]) => [k, v]));
  const hs = deltaCounts(f.handshakes, w.handshakes);
  rows($("handshakes").tBodies[0], Object.entries(hs).filter(([, v]) => v > 0).map(([k, v]) => [k, v]));
  renderCluster(f.cluster);

  const series = (fn) => frames.map((fr, i) => (i ? fn(frames[i - 1], fr) : 0));
  chart($("chart-ws"), [{ color: "#2a6fdb", values: frames.map((fr) => fr.websockets) }]);
  chart($("chart-msgs"), [
    { color: "#2a6fdb", values: series((a, b) => rate(a, b, "messagesIn")) },
    { color: "#1f9d55", values: series((a, b) => rate(a, b, "messagesOut")) },
  ]);
  chart($("chart-conns"), [
    { color: "#2a6fdb", values: series((a, b) => rate(a, b, "opened")) },
    { color: "#c0392b", values: series((a, b) => rate(a, b, "closed")) },
  ]);
  chart($("chart-p99"), [{ color: "#8e44ad", values: series((a, b) => {
    const sum = b.routes[0] ? b.routes[0].buckets.map(() => 0) : [];
    b.routes.forEach((r, i) => r.buckets.forEach((c, k) => (sum[k] += c - (a.routes[i] ? a.routes[i].buckets[k] : 0))));
    const v = quantile(0.99, sum, b.latencyBounds);
    return v === null ? 0 : v * 1000;
  }) }]);
}

function renderCluster(c) {
  const el = $("cluster");
  if (!c) {
    el.textContent = "single node (no cluster section)";
    return;
  }
  const t = document.createElement("table");
  t.innerHTML = "<thead><tr><th>node</th><th>WebSockets</th><th>state</th></tr></thead><tbody></tbody>";
  rows(t.tBodies[0], c.nodes.map((n) => [n.id, n.connections, n.state]));
  const r = document.createElement("table");
  r.innerHTML = "<thead><tr><th>Redis</th><th>state</th></tr></thead><tbody></tbody>";
  rows(r.tBodies[0], c.redis.map((x) => [x.url, x.state]));
  el.className = "";
  el.replaceChildren(t, r);
}

/** A line chart of `lines` (same length, one value per frame), scaled to the largest value. */
function chart(canvas, lines) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 18;
  ctx.clearRect(0, 0, W, H);
  const max = Math.max(1, ...lines.flatMap((l) => l.values));
  ctx.strokeStyle = "#e3e6ec";
  ctx.fillStyle = "#6b7385";
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath();
  ctx.moveTo(0, H - pad + 0.5);
  ctx.lineTo(W, H - pad + 0.5);
  ctx.stroke();
  ctx.fillText(fmt(max), 2, 11);
  for (const l of lines) {
    const n = l.values.length;
    if (n < 2) continue;
    ctx.strokeStyle = l.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    l.values.forEach((v, i) => {
      const x = (i / (n - 1)) * W;   // the kept frames span the width
      const y = H - pad - (v / max) * (H - pad - 14);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

start();
"""#
}
