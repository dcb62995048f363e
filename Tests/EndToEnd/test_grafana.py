"""docs/grafana/gateway.json reads only what the gateway exports (issue 12, point 4): every metric its
queries name appears in `/metrics` (a histogram by its `_bucket`/`_sum`/`_count` series), and every label
a query groups by is a label of that metric. Checked against a cluster node (Redis started by the test)
after some traffic, so the per-route, TLS-less and cluster series all exist."""
import json
import os
import re

from helpers import call, run, wait_until, ws_connect
from test_cluster import admin_node, redis  # noqa: F401  (redis: fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD = os.path.join(HERE, "..", "..", "docs", "grafana", "gateway.json")


def exported(text):
    """{metric name: set of label names} from Prometheus text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not m:
            continue
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def test_every_queried_metric_and_label_is_exported(gateway_factory, backend, redis):  # noqa: F811
    g = admin_node(gateway_factory, redis, [backend.module()], "n1")

    async def body():
        async with ws_connect(g.url("/ws")) as ws:
            assert (await call(ws, {"cmd": "echo", "id": 1, "data": 1}))["data"] == 1
    run(body())
    wait_until(lambda: "gateway_websocket_closes_total{" in g.admin("GET", "/metrics")[2].decode(), what="a close counted")
    series = exported(g.admin("GET", "/metrics")[2].decode())

    dashboard = json.load(open(DASHBOARD))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert len(exprs) >= 10
    problems = []
    for expr in exprs:
        names = set(re.findall(r"\b(gateway_[a-z0-9_]+)", expr))
        assert names, expr
        for name in names:
            if name not in series:
                problems.append(f"{name} is not exported (in {expr})")
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (l.strip() for l in group.split(",")):
                if label == "le":
                    continue
                if not any(label in series.get(n, set()) for n in names):
                    problems.append(f"label {label} is on none of {sorted(names)} (in {expr})")
    assert not problems, "\n".join(problems)
