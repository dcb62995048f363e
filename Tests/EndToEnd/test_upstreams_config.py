"""`check-config` on `upstreams` (DESIGN §10): every bad value is an error naming its JSON path, and
the gateway refuses to start with it."""
import json
import subprocess

import pytest

from helpers import GATEWAY_BIN


def _cfg(upstreams, routes=None, **module):
    m = {"path": "/ws", "routes": routes if routes is not None else {"x": {"upstream": "users", "path": "/rpc"}}}
    m.update(module)
    return {"listen": "127.0.0.1:8080", "upstreams": upstreams, "modules": [m]}


def _check(tmp_path, cfg):
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg, indent=2))
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(p)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


EP = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]


def test_full_upstream_config_is_valid(tmp_path):
    cfg = _cfg({"users": {"endpoints": EP, "balance": "least-inflight",
                          "healthCheck": {"path": "/healthz", "intervalMs": 2000, "timeoutMs": 1000, "unhealthyAfter": 3, "healthyAfter": 2},
                          "retry": {"attempts": 2, "on": ["connect-failure", "503"], "backoffMs": 25, "maxBackoffMs": 250},
                          "circuitBreaker": {"failureRatio": 0.5, "minRequests": 20, "windowMs": 10000, "openMs": 5000},
                          "outlierDetection": {"consecutiveFailures": 5, "baseEjectionMs": 5000, "maxEjectionPercent": 50}},
                "auth": {"endpoints": ["https://auth.internal:8443"]}},
               routes={"user.*": {"upstream": "users", "path": "/rpc", "idempotent": False}},
               handshake={"upstream": "auth", "path": "/connect"}, disconnect={"upstream": "auth", "path": "/bye"})
    code, out = _check(tmp_path, cfg)
    assert code == 0, out


BAD = [
    ({"users": {"endpoints": []}}, None, "upstreams.users.endpoints: must list at least one endpoint"),
    ({"users": {}}, None, "upstreams.users.endpoints: required"),
    ({"users": {"endpoints": ["tcp://h:1"]}}, None, 'upstreams.users.endpoints[0]: not an absolute http(s) URL'),
    ({"users": {"endpoints": EP, "balance": "fastest"}}, None, "upstreams.users.balance: must be round-robin or least-inflight"),
    ({"users": {"endpoints": EP, "retry": {"attempts": 11}}}, None, "upstreams.users.retry.attempts: must be between 1 and 10"),
    ({"users": {"endpoints": EP, "retry": {"on": ["404x"]}}}, None, "upstreams.users.retry.on[0]: must be connect-failure"),
    ({"users": {"endpoints": EP, "retry": {"backoffMs": -1}}}, None, "upstreams.users.retry.backoffMs: must be between 0 and 60000"),
    ({"users": {"endpoints": EP, "healthCheck": {"intervalMs": 10}}}, None, "upstreams.users.healthCheck.intervalMs: must be between"),
    ({"users": {"endpoints": EP, "healthCheck": {"healthyAfter": 1000}}}, None, "upstreams.users.healthCheck.healthyAfter: must be between 1 and 100"),
    ({"users": {"endpoints": EP, "circuitBreaker": {"failureRatio": 0}}}, None, "upstreams.users.circuitBreaker.failureRatio: must be a number above 0"),
    ({"users": {"endpoints": EP, "circuitBreaker": {"windowMs": 5}}}, None, "upstreams.users.circuitBreaker.windowMs: must be between 100"),
    ({"users": {"endpoints": EP, "outlierDetection": {"consecutiveFailures": 0}}}, None, "upstreams.users.outlierDetection.consecutiveFailures: must be between"),
    ({"users": {"endpoints": EP, "timeouts": 1}}, None, "upstreams.users.timeouts: unknown key"),
    ({"users": {"endpoints": EP}}, {"x": {"upstream": "people"}}, 'modules[0].routes.x.upstream: unknown upstream "people" (defined: users)'),
    ({"users": {"endpoints": EP}}, {"x": {"upstream": "users", "url": "http://h/"}}, 'modules[0].routes.x: has both "url" and "upstream"'),
    ({"users": {"endpoints": EP}}, {"x": {"upstream": "users", "path": "rpc"}}, "modules[0].routes.x.path: must start with /"),
    # A route's protocol must suit every endpoint of its group.
    ({"users": {"endpoints": EP}}, {"x": {"upstream": "users", "protocol": "h2"}}, "modules[0].routes.x.protocol: h2 is HTTP/2 over TLS"),
]


@pytest.mark.parametrize("upstreams,routes,message", BAD, ids=[m.split(":")[0] for _, _, m in BAD])
def test_bad_upstream_values_name_their_path(tmp_path, upstreams, routes, message):
    code, out = _check(tmp_path, _cfg(upstreams, routes))
    assert code != 0, out
    assert message in out, out


def test_hook_naming_an_unknown_upstream(tmp_path):
    code, out = _check(tmp_path, _cfg({"users": {"endpoints": EP}}, handshake={"upstream": "auth", "path": "/c"}))
    assert code != 0
    assert 'modules[0].handshake.upstream: unknown upstream "auth"' in out, out


def test_serve_refuses_a_bad_upstream(tmp_path):
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(_cfg({"users": {"endpoints": []}})))
    r = subprocess.run([GATEWAY_BIN, "serve", "--config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "upstreams.users.endpoints" in r.stdout + r.stderr


def test_check_config_warns_about_timeout_retries_without_a_per_try_timeout(tmp_path):
    cfg = _cfg({"users": {"endpoints": EP, "retry": {"on": ["timeout"]}}},
               routes={"x": {"upstream": "users", "idempotent": True}})
    code, out = _check(tmp_path, cfg)
    assert code == 0, out
    assert "upstreams.users.retry.on lists timeout but perTryTimeoutMs is not set" in out, out
    cfg["upstreams"]["users"]["retry"]["perTryTimeoutMs"] = 200
    code, out = _check(tmp_path, cfg)
    assert code == 0 and "perTryTimeoutMs" not in out, out


def test_routes_lists_upstream_routes_and_hooks(tmp_path):
    cfg = _cfg({"users": {"endpoints": EP}}, routes={"user.*": {"upstream": "users", "path": "/rpc", "method": "PUT"}},
               handshake={"upstream": "users", "path": "/connect"})
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "routes", "--config", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "PUT upstream users /rpc" in r.stdout, r.stdout
    assert "upstream users /connect" in r.stdout, r.stdout
