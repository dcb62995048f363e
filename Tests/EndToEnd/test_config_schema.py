"""docs/gateway.schema.json and the loader agree (issue 12, point 2): the schema is valid draft 2020-12;
every gateway config in the repository validates and loads; a corpus of invalid configs (unknown key,
wrong type, out-of-range number, bad URL, missing required key) is rejected by both; and over the fuzz
corpus plus seeded random mutations of valid configs, whatever the schema rejects the loader rejects,
and whatever the loader accepts the schema accepts. The loader may reject more (readable files,
duplicate module paths, cross-field rules, unset environment variables): those messages are listed."""
import copy
import glob
import json
import os
import random
import subprocess

import jsonschema
import pytest

from helpers import GATEWAY_BIN, REPO

SCHEMA = json.load(open(os.path.join(REPO, "docs", "gateway.schema.json")))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# Checks the loader makes that JSON Schema cannot express.
LOADER_ONLY = ("cannot read", "duplicate path", "must be less than idleTimeoutSeconds", "go together",
               "is not set", "also a module path", "must differ from listen", "no public key", "lists the same Redis",
               "required for HS256", "required for RS256", "duplicate key", "unterminated ${", "at least 32 bytes",
               "not an absolute http(s) URL", "not a listen address", "must be 1–", "a wildcard must be", "needs \"routes\"",
               "URL needs \"h2", "applies to url routes only", "must be at least minTtlSeconds",
               "unknown upstream", "must not exceed intervalMs", "must be at least backoffMs")


def repo_configs():
    out = [os.path.join(REPO, "gateway.json")] + sorted(glob.glob(os.path.join(REPO, "docker", "gateway*.json")))
    return [p for p in out if os.path.exists(p)]


def loader(tmp_path, cfg, name="c.json"):
    p = tmp_path / name
    p.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(p)], capture_output=True, text=True, timeout=30, env=env)
    return r.returncode == 0, r.stdout + r.stderr


def schema_ok(cfg):
    return not list(VALIDATOR.iter_errors(cfg))


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Descriptions and defaults come with the keys (README tables).
    limits = SCHEMA["properties"]["limits"]["properties"]
    assert all("description" in v and "default" in v for v in limits.values())


@pytest.mark.parametrize("path", repo_configs(), ids=os.path.basename)
def test_every_repo_config_validates_and_loads(tmp_path, path):
    cfg = json.load(open(path))
    assert cfg.get("$schema", "").endswith("docs/gateway.schema.json"), "bundled configs name the schema"
    errors = [e.message for e in VALIDATOR.iter_errors(cfg)]
    assert not errors, errors
    ok, out = loader(tmp_path, open(path).read())
    assert ok, out


BASE = {
    "$schema": "./docs/gateway.schema.json",
    "listen": "127.0.0.1:8080",
    "io": {"engine": "auto", "loops": 2, "backendClient": "auto",
           "dns": {"servers": ["127.0.0.1:5353", "10.0.0.2", "[::1]:53"], "minTtlSeconds": 1, "maxTtlSeconds": 60}},
    "admin": {"listen": "127.0.0.1:9090", "token": "0123456789abcdef0123"},
    "limits": {"maxMessageBytes": 65536, "backendTimeoutMs": "${GW_TIMEOUT:-3000}", "messagesPerSecond": 100},
    "modules": [{
        "path": "/chat", "parser": "json", "handshake": "http://127.0.0.1:9000/hs",
        "routes": {"chat.send": {"url": "http://127.0.0.1:9000/m", "deliver": "room", "timeoutMs": 500},
                   "user.*": "http://127.0.0.1:9000/rpc", "echo": {"local": "echo"}, "*": "http://127.0.0.1:9000/any"},
        "origins": ["https://app.example"], "compression": {"enabled": True, "level": 6},
    }, {"path": "/raw", "parser": "raw", "default": {"url": "https://backend.example/raw", "method": "put"}}],
    "http": [{"prefix": "/api/", "url": "http://127.0.0.1:9000/"}],
    "cluster": {"redis": ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6380/0"], "node": "n1", "prefix": "gw"},
    "upstreams": {"users": {"endpoints": ["http://127.0.0.1:9001", "http://127.0.0.1:9002/v1"], "balance": "least-inflight",
                            "healthCheck": {"path": "/healthz", "intervalMs": 2000, "timeoutMs": 500},
                            "retry": {"attempts": 2, "on": ["connect-failure", "503"], "backoffMs": 25},
                            "circuitBreaker": {"failureRatio": 0.5, "minRequests": 20, "openMs": 5000},
                            "outlierDetection": {"consecutiveFailures": 5}},
                  "auth": {"endpoints": ["https://auth.example:8443"], "outlierDetection": False}},
}
BASE["modules"][0]["routes"]["user.get"] = {"upstream": "users", "path": "/rpc", "idempotent": True}
BASE["modules"][1]["handshake"] = {"upstream": "auth", "path": "/connect"}

INVALID = {
    "unknown top-level key": lambda c: c.update(listner="x"),
    "unknown nested key": lambda c: c["limits"].update(maxMessages=1),
    "unknown route key": lambda c: c["modules"][0]["routes"]["chat.send"].update(urll="http://a/"),
    "wrong type: loops": lambda c: c["io"].update(loops="two"),
    "wrong type: modules": lambda c: c.update(modules={}),
    "wrong type: origins": lambda c: c["modules"][0].update(origins="https://a"),
    "wrong type: compression.enabled": lambda c: c["modules"][0]["compression"].update(enabled=1),
    "out of range: loops": lambda c: c["io"].update(loops=300),
    "out of range: maxMessageBytes": lambda c: c["limits"].update(maxMessageBytes=0),
    "out of range: level": lambda c: c["modules"][0]["compression"].update(level=10),
    "out of range: nodeTimeoutSeconds": lambda c: c["cluster"].update(nodeTimeoutSeconds=1),
    "bad URL: route": lambda c: c["modules"][0]["routes"].update(x="ftp://a/b"),
    "bad URL: hook": lambda c: c["modules"][0].update(handshake="127.0.0.1:9000/hs"),
    "bad URL: redis": lambda c: c["cluster"].update(redis="http://127.0.0.1:6379"),
    "bad enum: parser": lambda c: c["modules"][0].update(parser="xml"),
    "bad enum: deliver": lambda c: c["modules"][0]["routes"]["chat.send"].update(deliver="everyone"),
    "bad address": lambda c: c.update(listen="127.0.0.1"),
    "missing listen": lambda c: c.pop("listen"),
    "missing modules": lambda c: c.pop("modules"),
    "missing module path": lambda c: c["modules"][0].pop("path"),
    "missing admin token": lambda c: c["admin"].pop("token"),
    "short admin token": lambda c: c["admin"].update(token="short"),
    "route with url and local": lambda c: c["modules"][0]["routes"]["echo"].update(url="http://a/"),
    "module without routes or default": lambda c: c["modules"][1].pop("default"),
    "Gateway-* forwarded": lambda c: c["modules"][0].update(forwardHeaders=["Gateway-User"]),
    "jwt without algorithms": lambda c: c["modules"][0].update(auth={"jwt": {"secret": "s" * 40}}),
    "unknown key: io.dns": lambda c: c["io"]["dns"].update(ttl=5),
    "dns server by name": lambda c: c["io"]["dns"].update(servers=["dns.example:53"]),
    "no dns servers": lambda c: c["io"]["dns"].update(servers=[]),
    "out of range: minTtlSeconds": lambda c: c["io"]["dns"].update(minTtlSeconds=0),
    "empty hostsFile": lambda c: c["io"]["dns"].update(hostsFile=""),
    "upstream without endpoints": lambda c: c["upstreams"]["users"].update(endpoints=[]),
    "upstream endpoint with a query": lambda c: c["upstreams"]["users"].update(endpoints=["http://h:1/?x=1"]),
    "bad enum: balance": lambda c: c["upstreams"]["users"].update(balance="random"),
    "out of range: retry.attempts": lambda c: c["upstreams"]["users"]["retry"].update(attempts=0),
    "bad retry.on": lambda c: c["upstreams"]["users"]["retry"].update(on=["sometimes"]),
    "out of range: failureRatio": lambda c: c["upstreams"]["users"]["circuitBreaker"].update(failureRatio=2),
    "route with url and upstream": lambda c: c["modules"][0]["routes"]["user.get"].update(url="http://a/"),
    "path without upstream": lambda c: c["modules"][0]["routes"]["chat.send"].update(path="/x"),
    "bad upstream name": lambda c: c["upstreams"].update({"a b": {"endpoints": ["http://h:1"]}}),
}


def test_base_is_valid_for_both(tmp_path):
    assert schema_ok(BASE), [e.message for e in VALIDATOR.iter_errors(BASE)]
    ok, out = loader(tmp_path, BASE)
    assert ok, out


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_configs_are_rejected_by_both(tmp_path, name):
    cfg = copy.deepcopy(BASE)
    INVALID[name](cfg)
    assert not schema_ok(cfg), f"the schema accepts: {name}"
    ok, out = loader(tmp_path, cfg)
    assert not ok, f"the loader accepts: {name}"


def _mutations(cfg, rng, n):
    """`n` random single mutations of `cfg`: drop a key, change a value's type, push a number out of
    range, add an unknown key, swap a string for a bad URL."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append(path + [i])
                walk(v, path + [i])
    walk(cfg, [])
    values = [None, True, 0, -1, 1 << 41, 3, "x", "http://h:1/", "ftp://x", "", [], {}, ["a"], {"k": 1}, 1.5, "${GW_UNSET}"]
    for _ in range(n):
        c = copy.deepcopy(cfg)
        path = rng.choice(paths)
        parent = c
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        action = rng.randrange(3)
        if action == 0 and isinstance(parent, dict):
            parent.pop(key)
        elif action == 1 and isinstance(parent, dict):
            parent["zz" + str(rng.randrange(99))] = rng.choice(values)
        else:
            parent[key] = copy.deepcopy(rng.choice(values))
        yield path, c


def test_schema_and_loader_agree_over_fuzz_corpus_and_mutations(tmp_path):
    cases = []
    for f in sorted(glob.glob(os.path.join(REPO, "Fuzz", "Corpus", "FuzzConfig", "*"))):
        try:
            cases.append((os.path.basename(f), json.load(open(f))))
        except ValueError:
            continue   # not JSON: the loader's own error, nothing for a schema to say
    rng = random.Random(20261204)
    for base in (BASE, *[json.load(open(p)) for p in repo_configs()]):
        cases += [(f"mutation {'.'.join(map(str, p))}", c) for p, c in _mutations(base, rng, 60)]
    disagreements = []
    for name, cfg in cases:
        s_ok = schema_ok(cfg)
        l_ok, out = loader(tmp_path, cfg)
        if l_ok and not s_ok:
            disagreements.append(f"{name}: the loader accepts, the schema rejects: {[e.message for e in VALIDATOR.iter_errors(cfg)][:3]}")
        elif s_ok and not l_ok:
            reasons = [l for l in out.splitlines()[1:] if l.strip()]
            unexplained = [r for r in reasons if not any(k in r for k in LOADER_ONLY)]
            if unexplained:
                disagreements.append(f"{name}: the schema accepts, the loader rejects: {unexplained}")
    assert len(cases) > 200
    assert not disagreements, "\n".join(disagreements[:20])
