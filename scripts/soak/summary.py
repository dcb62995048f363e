#!/usr/bin/env python3
"""Soak-test summary: reads what scripts/soak.sh left in a report directory, prints the figures and
the PASS/FAIL checks, writes them to summary.txt and summary.json, and exits 0 only if every check
passed.

    summary.py REPORT_DIR

Inputs (all written by soak.sh): meta.json, samples.csv (sampler.py), publishes.csv,
<tool>.out / <tool>.rc for each load process (gateway-bench output with its --json line),
gateway.rc, gateway.log, metrics-end.txt, drain.txt.
"""
import csv
import json
import os
import re
import sys

MIB = 1024


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def json_line(text):
    for line in reversed(text.splitlines()):
        if line.startswith('{"tool":"gateway-bench"'):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def mib(kib):
    return f"{kib / MIB:.1f} MiB"


def metric_sum(text, name, label_filter=None):
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        base = key.split("{", 1)[0]
        if base != name:
            continue
        if label_filter and not label_filter(key):
            continue
        total += float(value)
        found = True
    return total if found else None


def main():
    d = sys.argv[1]
    meta = json.loads(read(os.path.join(d, "meta.json"), "{}"))
    rows = list(csv.DictReader(open(os.path.join(d, "samples.csv"))))
    out = []
    checks = []  # (ok, text)

    def p(s=""):
        out.append(s)

    def check(ok, text):
        checks.append((bool(ok), text))

    def ints(rs, col):
        return [int(r[col]) for r in rs if r.get(col, "") not in ("", None)]

    base = [r for r in rows if r["phase"] == "baseline"]
    load = [r for r in rows if r["phase"] == "load"]
    after = [r for r in rows if r["phase"] == "after"]

    p(f"soak report: {d}")
    p(f"gateway {meta.get('gateway_version', '?')} (commit {meta.get('commit', '?')}, "
      f"{meta.get('modified_files', '?')} modified tracked files; binary {meta.get('binary', '?')}), engine {meta.get('engine_used', '?')} (asked: {meta.get('engine')}), "
      f"{meta.get('loops', '?')} loops; load {meta.get('minutes')} min")
    p(f"load: {meta.get('connections')} held connections over {meta.get('hold_procs')} processes (--ping {meta.get('ping')} s), "
      f"churn handshakes -c {meta.get('churn_c')}, rtt -c {meta.get('rtt_c')} through the backend's /echo, "
      f"admin publish to all every {meta.get('publish_interval')} s")
    p()

    if not base or not after:
        p("missing baseline or after-load samples; see samples.csv")
        check(False, "samples for baseline and after the load exist")
    else:
        b, e = base[-1], after[-1]
        rss0, rss1 = int(b["rss_kib"]), int(e["rss_kib"])
        rss_peak = max(ints(rows, "hwm_kib") + ints(rows, "rss_kib"))
        fd0, fd1, fdp = int(b["fds"]), int(e["fds"]), max(ints(rows, "fds"))
        of0, of1, ofp = int(b["other_fds"]), int(e["other_fds"]), max(ints(rows, "other_fds"))
        bf0, bf1, bfp = int(b["backend_fds"]), int(e["backend_fds"]), max(ints(rows, "backend_fds"))
        ws_peak = max(ints(rows, "websockets") or [0])
        cpu = [float(r["cpu_pct"]) for r in load if r["cpu_pct"]]
        load1 = [float(r["load1"]) for r in load if r["load1"]]
        cold = "cold_rss_kib" in meta
        p(f"{'gateway process':34} {'cold':>10} {'baseline':>10} {'peak':>12} {'end':>12}")
        p(f"{'RSS':34} {mib(meta['cold_rss_kib']) if cold else '-':>10} {mib(rss0):>10} {mib(rss_peak):>12} {mib(rss1):>12}")
        a0, a1, ap = int(b["anon_kib"]), int(e["anon_kib"]), max(ints(rows, "anon_kib"))
        p(f"{'  of which anonymous (RssAnon)':34} {mib(meta['cold_anon_kib']) if cold else '-':>10} {mib(a0):>10} "
          f"{mib(ap):>12} {mib(a1):>12}")
        p(f"{'fds, total':34} {meta.get('cold_fds', '-'):>10} {fd0:>10} {fdp:>12} {fd1:>12}")
        p(f"{'fds, without backend keep-alive':34} {'':>10} {of0:>10} {ofp:>12} {of1:>12}")
        p(f"{'backend keep-alive sockets':34} {'':>10} {bf0:>10} {bfp:>12} {bf1:>12}")
        p(f"{'WebSocket connections':34} {'':>10} {int(b['websockets'] or 0):>10} {ws_peak:>12} {int(e['websockets'] or 0):>12}")
        if cpu:
            p(f"gateway CPU during load: mean {sum(cpu) / len(cpu):.0f} % of one core, max {max(cpu):.0f} %; "
              f"system load (1 min) mean {sum(load1) / len(load1):.1f}, max {max(load1):.1f} (2 cores, shared)")
        gw_cpu = float(e["cpu_s"]) - float(b["cpu_s"])
        p(f"gateway CPU time over the run: {gw_cpu:.0f} s")
        accepted = int(e["accepted"] or 0) - int(b["accepted"] or 0)
        msgs_in = int(e["msgs_in"] or 0) - int(b["msgs_in"] or 0)
        calls = int(e["backend_calls"] or 0) - int(b["backend_calls"] or 0)
        fanout = int(e["fanout"] or 0) - int(b["fanout"] or 0)
        p(f"gateway counters: {accepted} connections accepted, {msgs_in} messages received, {calls} backend calls, "
          f"{fanout} fan-out deliveries")
        # A leak grows with time under constant load; retention does not. Compare the two halves of
        # the load phase once every connection is up (from the first sample at the peak count).
        full = [i for i, r in enumerate(load) if r["websockets"] and int(r["websockets"]) >= int(meta.get("connections", 0))]
        if full and len(load) - full[0] >= 4:
            steady = load[full[0]:]
            half = len(steady) // 2
            h1, h2 = max(ints(steady[:half], "rss_kib")), max(ints(steady[half:], "rss_kib"))
            p(f"RSS under full load: max {mib(h1)} in the first half, {mib(h2)} in the second "
              f"({(h2 - h1) / MIB:+.1f} MiB over {float(steady[-1]['t_s']) - float(steady[half]['t_s']):.0f} s)")
        trim = read(os.path.join(d, "trim.txt"))
        if trim:
            vals = {}
            for line in trim.splitlines():
                w = line.split()
                vals[w[0]] = {w[i].rstrip(":"): int(w[i + 1]) for i in range(1, len(w) - 1, 2)}
            if "before" in vals and "after" in vals:
                p(f"diagnostic, malloc_trim(0) in the gateway after the load (gdb): RSS {mib(vals['before']['VmRSS'])} -> "
                  f"{mib(vals['after']['VmRSS'])}, RssAnon {mib(vals['before']['RssAnon'])} -> {mib(vals['after']['RssAnon'])} "
                  f"(what it frees was free heap kept by glibc, not live memory)")
        drain = read(os.path.join(d, "drain.txt")).strip()
        if drain:
            p(f"after the load: {drain}")
        p()

        tol_kib = max(rss0 // 10, 20 * MIB)
        check(meta.get("drained", False), "connections back to 0 within 30 s after the load")
        check(of1 == of0,
              f"fds without the backend keep-alive pool: end {of1} == baseline {of0} (exact)")
        pool_cap = int(meta.get("rtt_c", 0)) + 1
        check(bf1 <= pool_cap,
              f"backend keep-alive sockets at end: {bf1} <= {pool_cap} (rtt connections + the pre-load check = most "
              f"calls ever in flight; libcurl keeps idle connections open; total fds {fd0} -> {fd1})")
        check(rss1 <= rss0 + tol_kib,
              f"RSS: end {mib(rss1)} <= baseline {mib(rss0)} + max(10 %, 20 MiB) = {mib(rss0 + tol_kib)}")

    # Load tools.
    p(f"{'load process':10} {'exit':>4} {'conn ok':>13} {'errors':>6} {'cpu s':>6}  figures")
    tools = meta.get("tools", [])
    for name in tools:
        text = read(os.path.join(d, f"{name}.out"))
        rc = read(os.path.join(d, f"{name}.rc"), "?").strip()
        t = read(os.path.join(d, f"{name}.time")).split()
        cpu_s = f"{float(t[-2]) + float(t[-1]):.0f}" if len(t) >= 3 else "-"
        j = json_line(text)
        if j is None:
            p(f"{name:10} {rc:>4} {'-':>13} {'-':>6} {cpu_s:>6}  no JSON line (see {name}.out)")
            check(False, f"{name}: finished with a JSON report")
            continue
        conn = f"{j['conn_ok']}/{j['connections']}"
        mode = j["mode"]
        if mode == "hold":
            fig = f"held {j['duration_s']:.0f} s, pings {j['pings_sent']} pongs {j['pongs_received']}, connect p99 {j['connect_us']['p99']} us"
        elif mode == "handshakes":
            fig = (f"{j['handshakes_total']} handshakes ({j['handshakes_per_s']:.0f}/s), latency p50 {j['latency_us']['p50']} "
                   f"p99 {j['latency_us']['p99']} us, aborted/failed {j['handshakes_failed']}")
        elif mode == "rtt":
            fig = (f"sent {j['sent']} received {j['received']} ({j['msgs_per_s']:.0f} msg/s), latency p50 {j['latency_us']['p50']} "
                   f"p99 {j['latency_us']['p99']} us, unsolicited {j['unsolicited']}")
        else:
            fig = ""
        errs = j["errors"]
        detail = ",".join(f"{k} {v}" for k, v in j["err"].items() if v)
        if j.get("close_frames"):
            detail += (", " if detail else "") + f"server closes {j['close_frames']} {j.get('close_codes')}"
        p(f"{name:10} {rc:>4} {conn:>13} {errs:>6} {cpu_s:>6}  {fig}" + (f"  [{detail}]" if detail else ""))
        if mode == "handshakes":
            # The churn tool restarts connections all the time; a connection still connecting when
            # its run ends is aborted (handshakes_failed, not an error). Anything in `errors` counts.
            check(errs == 0 and rc == "0", f"{name}: exit 0 and 0 errors (aborted handshakes at the end are not errors)")
        else:
            check(errs == 0 and rc == "0" and j["conn_ok"] == j["connections"],
                  f"{name}: exit {rc}, {j['conn_ok']}/{j['connections']} connected, {errs} errors")
    p()

    # Publishes.
    pubs = list(csv.DictReader(open(os.path.join(d, "publishes.csv")))) if os.path.exists(os.path.join(d, "publishes.csv")) else []
    ok = [r for r in pubs if r["http"] == "200" and r["delivered"] != ""]
    delivered = sorted(int(r["delivered"]) for r in ok)
    if delivered:
        med = delivered[len(delivered) // 2]
        held = [int(r["delivered"]) for r in ok if r.get("phase") == "held"]
        p(f"publishes: {len(pubs)} sent, {len(ok)} answered 200; delivered min {delivered[0]} median {med} max {delivered[-1]}, "
          f"total {sum(delivered)}"
          + (f"; while all {meta.get('connections')} were held: min {min(held)}" if held else ""))
        if held:
            check(min(held) >= int(meta.get("connections", 0)),
                  f"every publish while the connections were held reached at least {meta.get('connections')} connections")
    else:
        p(f"publishes: {len(pubs)} sent, none answered 200")
    check(len(pubs) > 0 and len(ok) == len(pubs), f"admin publishes: {len(ok)}/{len(pubs)} answered 200")

    # Gateway-side counters and log.
    metrics = read(os.path.join(d, "metrics-end.txt"))
    if metrics:
        bad_calls = metric_sum(metrics, "gateway_backend_requests_total", lambda k: 'outcome="ok"' not in k) or 0
        good_calls = metric_sum(metrics, "gateway_backend_requests_total", lambda k: 'outcome="ok"' in k) or 0
        refused = metric_sum(metrics, "gateway_connections_refused_total") or 0
        limited = metric_sum(metrics, "gateway_messages_rate_limited_total") or 0
        slow = metric_sum(metrics, "gateway_slow_consumers_closed_total") or 0
        p(f"gateway metrics: backend calls ok {good_calls:.0f}, not ok {bad_calls:.0f}; connections refused {refused:.0f}; "
          f"rate limited {limited:.0f}; slow consumers closed {slow:.0f}")
        check(bad_calls == 0 and refused == 0 and limited == 0 and slow == 0,
              "gateway metrics: no failed backend calls, refused connections, rate-limited messages or slow consumers")
    else:
        check(False, "gateway /metrics read at the end")
    log = read(os.path.join(d, "gateway.log"))
    bad_lines = [l for l in log.splitlines() if re.search(r"\b(warning|error|critical)\b", l)]
    p(f"gateway log: {len(log.splitlines())} lines, {len(bad_lines)} at warning level or above")
    for l in bad_lines[:5]:
        p(f"  {l}")
    check(not bad_lines, "gateway log: nothing at warning level or above")
    grc = read(os.path.join(d, "gateway.rc"), "?").strip()
    check(grc == "0", f"gateway exit code after SIGTERM: {grc}")
    p()

    passed = all(ok for ok, _ in checks)
    for ok_, text in checks:
        p(f"{'PASS' if ok_ else 'FAIL'}  {text}")
    p()
    p(f"soak: {'PASS' if passed else 'FAIL'}")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(d, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"pass": passed, "checks": [{"ok": o, "check": t} for o, t in checks]}, f, indent=1)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
