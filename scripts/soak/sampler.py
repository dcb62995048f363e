#!/usr/bin/env python3
"""Soak-test sampler: every INTERVAL seconds, append one CSV row about the gateway process.

    sampler.py --pid PID --csv FILE --admin http://127.0.0.1:PORT --token-env VAR \
               --backend-port PORT --phase-file FILE [--interval 5]

Columns:
  time          wall clock (ISO 8601, UTC)
  t_s           seconds since the sampler started
  phase         contents of --phase-file (baseline, load, drain, after)
  rss_kib       VmRSS of the gateway (/proc/PID/status)
  anon_kib      RssAnon (heap, stacks, anonymous mmaps: what a leak grows; the rest is mapped files)
  hwm_kib       VmHWM (peak RSS so far)
  fds           entries in /proc/PID/fd
  backend_fds   of those, TCP sockets whose peer is the backend port (libcurl's keep-alive pool)
  other_fds     fds - backend_fds
  threads       Threads (/proc/PID/status)
  cpu_s         utime + stime of the gateway, seconds (/proc/PID/stat)
  cpu_pct       gateway CPU over the last interval, % of one core
  open          /v1/stats connections.open (HTTP + WebSocket)
  websockets    /v1/stats connections.websockets
  accepted      /v1/stats connections.accepted (cumulative)
  msgs_in       /v1/stats messages.received (cumulative)
  msgs_out      /v1/stats messages.sent (cumulative)
  fanout        /v1/stats messages.fanoutDeliveries (cumulative)
  backend_calls /v1/stats backend.calls (cumulative)
  inflight      /v1/stats backend.inFlight
  queued_bytes  /v1/stats bytes.queued
  load1         /proc/loadavg, 1-minute system load (the machine is shared)

The fd columns are read before /v1/stats is queried, so the sampler's own admin connection is not
counted. Stops on SIGTERM/SIGINT or when the process is gone.
"""
import argparse
import json
import os
import signal
import sys
import time
import urllib.request
from datetime import datetime, timezone

COLUMNS = [
    "time", "t_s", "phase", "rss_kib", "anon_kib", "hwm_kib", "fds", "backend_fds", "other_fds", "threads", "cpu_s",
    "cpu_pct", "open", "websockets", "accepted", "msgs_in", "msgs_out", "fanout", "backend_calls", "inflight",
    "queued_bytes", "load1",
]
TICKS = os.sysconf("SC_CLK_TCK")
stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may contain spaces; fields after ')' are fixed.
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICKS  # utime, stime (fields 14 and 15)


def socket_inodes(pid):
    """Number of fds, and the inodes of the socket fds."""
    n = 0
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        n += 1
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return n, inodes


def backend_socket_count(pid, inodes, backend_port):
    """Sockets of `pid` (by inode) whose remote port is the backend's."""
    want = f":{backend_port:04X}"
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 9 and parts[2].endswith(want) and parts[9] in inodes:
                        count += 1
        except OSError:
            pass
    return count


def stats(admin, token):
    req = urllib.request.Request(admin + "/v1/stats", headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=4) as r:
            return json.loads(r.read())
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--token-env", required=True)
    ap.add_argument("--backend-port", type=int, required=True)
    ap.add_argument("--phase-file", required=True)
    ap.add_argument("--interval", type=float, default=5.0)
    a = ap.parse_args()
    token = os.environ[a.token_env]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    start = time.monotonic()
    last_cpu = None
    last_t = None
    with open(a.csv, "w", buffering=1) as out:
        out.write(",".join(COLUMNS) + "\n")
        next_at = start
        while not stop:
            try:
                t = time.monotonic()
                st = status_fields(a.pid)
                cpu = cpu_seconds(a.pid)
                nfd, inodes = socket_inodes(a.pid)
                bfd = backend_socket_count(a.pid, inodes, a.backend_port)
            except (OSError, StopIteration):
                break  # the gateway is gone
            try:
                with open(a.phase_file) as f:
                    phase = f.read().strip()
            except OSError:
                phase = ""
            s = stats(a.admin, token) or {}
            c = s.get("connections", {})
            m = s.get("messages", {})
            b = s.get("backend", {})
            pct = "" if last_cpu is None else f"{100 * (cpu - last_cpu) / max(t - last_t, 1e-6):.1f}"
            last_cpu, last_t = cpu, t
            with open("/proc/loadavg") as f:
                load1 = f.read().split()[0]
            row = [
                datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), f"{t - start:.1f}", phase,
                st.get("VmRSS", "0").split()[0], st.get("RssAnon", "0").split()[0], st.get("VmHWM", "0").split()[0], nfd, bfd, nfd - bfd,
                st.get("Threads", ""), f"{cpu:.2f}", pct,
                c.get("open", ""), c.get("websockets", ""), c.get("accepted", ""),
                m.get("received", ""), m.get("sent", ""), m.get("fanoutDeliveries", ""),
                b.get("calls", ""), b.get("inFlight", ""), s.get("bytes", {}).get("queued", ""), load1,
            ]
            out.write(",".join(str(x) for x in row) + "\n")
            next_at += a.interval
            while not stop and time.monotonic() < next_at:
                time.sleep(min(0.2, max(0.0, next_at - time.monotonic())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
