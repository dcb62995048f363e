// Starts the real gateway binary and the end-to-end suite's Python backend for the client tests.
// GATEWAY_BIN (default ../../.build/debug/gateway) and GATEWAY_IO_ENGINE (io_uring | epoll) choose
// what runs; Tests/EndToEnd/test_js_client.py runs this suite under both engines.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import net from "node:net";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
export const GATEWAY_BIN = process.env.GATEWAY_BIN ?? path.join(root, ".build/debug/gateway");
export const ENGINE = process.env.GATEWAY_IO_ENGINE ?? "epoll";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, fn, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function httpGet(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: p, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
  });
}

/** The Python backend of Tests/EndToEnd (echo, status, slow, hooks, ...). */
export async function startBackend() {
  const proc = spawn("/usr/bin/python3", [path.join(root, "Tests/EndToEnd/backend.py"), "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout.on("data", (d) => {
      buf += d;
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`backend exited ${c}`)));
  });
  return { proc, port, url: (p) => `http://127.0.0.1:${port}${p}`, stop: () => proc.kill() };
}

/** A gateway on `port` with `modules`; `restart()` stops it and starts it again on the same port. */
export async function startGateway(modules, { port } = {}) {
  port = port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), "gw-js-"));
  const config = path.join(dir, "gateway.json");
  writeFileSync(config, JSON.stringify({ listen: `127.0.0.1:${port}`, io: { loops: 1 }, modules }, null, 2));
  const log = path.join(dir, "gateway.log");
  const g = { port, config, log, proc: null, url: (p) => `ws://127.0.0.1:${port}${p}` };
  g.start = async () => {
    const out = (await import("node:fs")).openSync(log, "a");
    g.proc = spawn(GATEWAY_BIN, ["serve", "--config", config, "--io-engine", ENGINE], { stdio: ["ignore", out, out] });
    await waitFor("gateway /healthz", async () => {
      if (g.proc.exitCode !== null) throw new Error(`gateway exited: ${readFileSync(log, "utf8")}`);
      return (await httpGet(port, "/healthz")) === 200;
    });
  };
  g.stop = async () => {
    if (!g.proc || g.proc.exitCode !== null) return;
    const done = new Promise((r) => g.proc.on("exit", r));
    g.proc.kill("SIGKILL");
    await done;
  };
  g.restart = async () => {
    await g.stop();
    await g.start();
  };
  await g.start();
  return g;
}
