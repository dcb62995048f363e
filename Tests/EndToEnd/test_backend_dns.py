"""Backends named by host: the native HTTP/1.1 client resolves names on the loop with c-ares (`io.dns`).

A tiny DNS server (dnslib, in this process, on a loopback UDP port the gateway is pointed at with
`io.dns.servers`) answers the test names with short TTLs; small HTTP backends run as subprocesses on
127.0.0.2 and 127.0.0.3 (same port) and say which one answered. The names exist only in that DNS
server (or in a test-only hosts file, `io.dns.hostsFile`), so the system resolver, which libcurl
uses, cannot resolve them: a call that succeeds went through the gateway's own client, and the
`gateway_backend_client_calls_total{client=...}` metric says so too.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from helpers import GATEWAY_BIN, wait_until

# ----------------------------------------------------------------------------------------------
# a DNS server the test controls


class DNSServer:
    """Answers A queries from `records` (name -> [(ip, ttl)]), AAAA with `records6`, NXDOMAIN for
    names it does not know. Logs every query (time, name, type). `stop()` closes the socket (queries
    are then refused by the kernel: ICMP port unreachable), `start()` binds the same port again."""

    def __init__(self):
        self.records = {}
        self.records6 = {}
        self.log = []
        self.lock = threading.Lock()
        self.port = None
        self.sock = None
        self.thread = None
        self.start()

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", self.port or 0))
        self.port = s.getsockname()[1]
        self.sock = s
        self.thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self.thread.start()

    def stop(self):
        s, self.sock = self.sock, None
        if s is not None:
            s.close()
            self.thread.join(2)

    def set(self, name, *addresses, ttl=1):
        with self.lock:
            self.records[name] = [(a, ttl) for a in addresses]

    def queries(self, name, qtype="A"):
        with self.lock:
            return [t for t, n, q in self.log if n == name and q == qtype]

    def _serve(self, s):
        while True:
            try:
                data, peer = s.recvfrom(4096)
            except OSError:
                return
            try:
                q = DNSRecord.parse(data)
            except Exception:
                continue
            name = str(q.q.qname).rstrip(".").lower()
            qtype = QTYPE[q.q.qtype]
            r = q.reply()
            with self.lock:
                self.log.append((time.monotonic(), name, qtype))
                known = name in self.records or name in self.records6
                if qtype == "A":
                    for ip, ttl in self.records.get(name, []):
                        r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(ip), ttl=ttl))
                elif qtype == "AAAA":
                    for ip, ttl in self.records6.get(name, []):
                        r.add_answer(RR(q.q.qname, QTYPE.AAAA, rdata=AAAA(ip), ttl=ttl))
            if not known:
                r.header.rcode = RCODE.NXDOMAIN
            try:
                s.sendto(r.pack(), peer)
            except OSError:
                return


@pytest.fixture
def dns():
    d = DNSServer()
    yield d
    d.stop()


# ----------------------------------------------------------------------------------------------
# backends that say who they are

INSTANCE = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        body = json.dumps({"server": name}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST
ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer((host, port), H)
print("READY", flush=True)
srv.serve_forever()
'''


class Instance:
    """One backend instance (a subprocess: `kill()` closes its keep-alive connections too)."""

    def __init__(self, host, port, name):
        self.host, self.port, self.name = host, port, name
        self.proc = subprocess.Popen([sys.executable, "-c", INSTANCE, host, str(port), name],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.proc.kill()
            raise RuntimeError(f"backend {name} on {host}:{port} did not start: {line!r}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def instances():
    started = []

    def start(host, port, name):
        i = Instance(host, port, name)
        started.append(i)
        return i

    yield start
    for i in started:
        i.kill()


def shared_port():
    """A port free on both 127.0.0.2 and 127.0.0.3 (the instances of one name share the URL's port)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
        s.close()
        t = socket.socket()
        try:
            t.bind(("127.0.0.3", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
    raise RuntimeError("no port free on 127.0.0.2 and 127.0.0.3")


# ----------------------------------------------------------------------------------------------
# the gateway

def start_gateway(gateway_factory, backend, dns, routes, **dns_settings):
    """One loop (one resolver, so query counts are exact), the admin API for the metrics."""
    settings = {"servers": [f"127.0.0.1:{dns.port}"]} if dns is not None else {}
    settings.update(dns_settings)
    routes = dict(routes, local={"local": "echo"})
    return gateway_factory(modules=[backend.module(routes=routes)], io={"loops": 1, "dns": settings}, admin=True)


def post(g, cmd, i=1, timeout=10):
    """`POST /ws` with a json envelope: the reply envelope."""
    status, _, body = g.http("POST", "/ws", body=json.dumps({"cmd": cmd, "id": i, "data": {}}), timeout=timeout)
    env = json.loads(body)
    assert env.get("id") == i, (status, env)
    return env


def server_of(env):
    assert "error" not in env, env
    return env["data"]["server"]


def metrics(g):
    """Every sample of `GET /metrics`: {"name{labels}": value}."""
    _, _, body = g.admin("GET", "/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def native_calls(g):
    m = metrics(g)
    return m['gateway_backend_client_calls_total{client="native"}'], m['gateway_backend_client_calls_total{client="curl"}']


# ----------------------------------------------------------------------------------------------
# tests


def test_round_trip_through_a_host_name(gateway_factory, backend, dns, instances):
    port = shared_port()
    instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2")
    g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc.e2e.test:{port}/who"})
    for i in range(5):
        assert server_of(post(g, "who", i)) == "a"
    native, curl = native_calls(g)
    assert native >= 5 and curl == 0, (native, curl)
    m = metrics(g)
    assert m['gateway_backend_dns_queries_total{result="answered"}'] >= 1, m
    # One query answered all five calls (they were within the 1 s TTL; a refresh may add one).
    assert 1 <= len(dns.queries("svc.e2e.test")) <= 2


def test_libcurl_cannot_resolve_test_names(gateway_factory, backend, dns, instances):
    """The contrast that makes the test above meaningful: with `io.backendClient: curl` the same route
    fails, because libcurl resolves through the system's resolver, which knows nothing of the test DNS
    server."""
    port = shared_port()
    instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2")
    routes = {"who": {"url": f"http://svc.e2e.test:{port}/who", "timeoutMs": 2000}, "local": {"local": "echo"}}
    g = gateway_factory(modules=[backend.module(routes=routes)], admin=True,
                        io={"loops": 1, "backendClient": "curl", "dns": {"servers": [f"127.0.0.1:{dns.port}"]}})
    env = post(g, "who")
    assert env["error"]["code"] in ("backend_unavailable", "backend_timeout"), env
    native, curl = native_calls(g)
    assert native == 0 and curl >= 1, (native, curl)
    assert dns.queries("svc.e2e.test") == []


def test_calls_follow_an_address_change_after_the_ttl(gateway_factory, backend, dns, instances):
    port = shared_port()
    instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2", ttl=1)
    g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc.e2e.test:{port}/who"})
    assert server_of(post(g, "who")) == "a"
    # The backend moves: a new instance on 127.0.0.3, the record changes; the old one keeps running.
    instances("127.0.0.3", port, "b")
    dns.set("svc.e2e.test", "127.0.0.3", ttl=1)
    changed = time.monotonic()
    seen = []
    while time.monotonic() - changed < 6:
        seen.append(server_of(post(g, "who", len(seen))))   # never an error on the way
        if seen[-3:] == ["b", "b", "b"]:
            break
        time.sleep(0.05)
    took = time.monotonic() - changed
    assert seen[-3:] == ["b", "b", "b"], f"calls still go to {seen[-5:]} {took:.1f} s after the change"
    # The connection to the old address was retired: once "b" answered, "a" never did again.
    first_b = seen.index("b")
    assert "a" not in seen[first_b:], seen
    assert took < 4, f"took {took:.1f} s to follow a 1 s TTL"


def test_a_moved_backend_whose_old_instance_died(gateway_factory, backend, dns, instances):
    """The old instance is gone before the TTL ran out: the refused connect marks the address,
    the name is resolved again, and the call goes to the new address instead of failing."""
    port = shared_port()
    a = instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2", ttl=30)
    g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc.e2e.test:{port}/who"},
                      minTtlSeconds=1, maxTtlSeconds=60)
    assert server_of(post(g, "who")) == "a"
    instances("127.0.0.3", port, "b")
    dns.set("svc.e2e.test", "127.0.0.3", ttl=30)
    a.kill()
    time.sleep(0.2)   # let the gateway see its keep-alive connection to "a" close
    # The cached answer (127.0.0.2) has 30 s to go: only the connect failure can make it ask again.
    for i in range(5):
        assert server_of(post(g, "who", i)) == "b"
    assert metrics(g)["gateway_backend_connect_failovers_total"] >= 1


def test_two_records_one_dead(gateway_factory, backend, dns, instances):
    port = shared_port()
    dead = socket.socket()   # bound, not listening: connects are refused
    dead.bind(("127.0.0.2", port))
    try:
        instances("127.0.0.3", port, "b")
        dns.set("svc.e2e.test", "127.0.0.2", "127.0.0.3", ttl=5)
        g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc.e2e.test:{port}/who"})
        # Many calls at once: each opens its own connection, and new connections rotate over both
        # addresses, so some try the dead one first.
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda i: post(g, "who", i), range(64)))
        assert [server_of(r) for r in replies] == ["b"] * 64
        assert metrics(g)["gateway_backend_connect_failovers_total"] >= 1
        # Later calls (new connections too) still never fail.
        for i in range(10):
            assert server_of(post(g, "who", 100 + i)) == "b"
    finally:
        dead.close()


def test_unknown_name_is_backend_unavailable_and_cached_briefly(gateway_factory, backend, dns, instances):
    port = shared_port()
    instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2")
    g = start_gateway(gateway_factory, backend, dns, {
        "who": f"http://svc.e2e.test:{port}/who",
        "nope": f"http://nope.e2e.test:{port}/who",
    })
    env = post(g, "nope")
    err = env["error"]
    assert err["code"] == "backend_unavailable", env
    assert "cannot resolve nope.e2e.test" in err["message"] and "Domain name not found" in err["message"], err
    # A storm of calls for the name is one query (the negative answer is kept for 1 s), not a storm.
    t0 = time.monotonic()
    for i in range(20):
        assert post(g, "nope", i)["error"]["code"] == "backend_unavailable"
    if time.monotonic() - t0 < 0.9:
        assert len(dns.queries("nope.e2e.test")) <= 2, dns.queries("nope.e2e.test")
    # The gateway keeps serving: local routes and the other name.
    assert post(g, "local")["data"] == {}
    assert server_of(post(g, "who")) == "a"
    assert metrics(g)['gateway_backend_dns_queries_total{result="failed"}'] >= 1


def test_dns_server_down_cached_answer_until_it_expires(gateway_factory, backend, dns, instances):
    port = shared_port()
    instances("127.0.0.2", port, "a")
    ttl = 3
    dns.set("svc.e2e.test", "127.0.0.2", ttl=ttl)
    g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc.e2e.test:{port}/who"})
    assert server_of(post(g, "who")) == "a"
    dns.stop()
    stopped = time.monotonic()
    last_answer = max(dns.queries("svc.e2e.test"))
    expiry = last_answer + ttl
    ok_after_stop = 0
    first_error = None
    i = 0
    while time.monotonic() < expiry + 6:
        env = post(g, "who", i)
        i += 1
        if "error" in env:
            first_error = (time.monotonic(), env["error"])
            break
        assert server_of(env) == "a"
        ok_after_stop += 1
        time.sleep(0.1)
    assert ok_after_stop >= 3, "the cached answer stopped working as soon as the DNS server went down"
    assert first_error is not None, "still answering long after the cached answer expired"
    when, err = first_error
    assert err["code"] == "backend_unavailable", err
    assert "cannot resolve svc.e2e.test" in err["message"], err
    # Not before the TTL ran out (a little slack for the clocks of the two processes' loops).
    assert when >= expiry - 0.3, f"first error {when - stopped:.2f} s after the stop, expiry at {expiry - stopped:.2f} s"
    assert post(g, "local")["data"] == {}
    # The DNS server comes back: so do the calls (after the 1 s negative answer at most).
    dns.start()
    wait_until(lambda: "error" not in post(g, "who", 1000), timeout=5, what="calls to work again")


def test_hosts_file(gateway_factory, backend, tmp_path):
    """`io.dns.hostsFile`: names from a test-only hosts file (c-ares reads it instead of /etc/hosts),
    with the name servers pointed at a port where nothing answers."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 e2e-hosts.test\n")
    nothing = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nothing.bind(("127.0.0.1", 0))
    try:
        g = start_gateway(gateway_factory, backend, None, {"x": f"http://e2e-hosts.test:{backend.port}/echo"},
                          servers=[f"127.0.0.1:{nothing.getsockname()[1]}"], hostsFile=str(hosts))
        for i in range(3):
            status, _, body = g.http("POST", "/ws", body=json.dumps({"cmd": "x", "id": i, "data": {"n": i}}))
            assert status == 200 and json.loads(body)["data"] == {"n": i}, body
        rec = backend.records(path="/echo")[-1]
        assert dict((k.lower(), v) for k, v in rec["headers"])["host"] == f"e2e-hosts.test:{backend.port}"
        native, curl = native_calls(g)
        assert native >= 3 and curl == 0, (native, curl)
    finally:
        nothing.close()


def test_search_domain_from_resolv_conf(gateway_factory, backend, dns, instances, tmp_path):
    """`io.dns.resolvConf`: a single-label name is tried with the `search` domain, as the system
    resolver does (`servers` still replaces its nameserver lines)."""
    port = shared_port()
    instances("127.0.0.2", port, "a")
    dns.set("svc.e2e.test", "127.0.0.2")
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 192.0.2.1\nsearch e2e.test\noptions ndots:1\n")
    g = start_gateway(gateway_factory, backend, dns, {"who": f"http://svc:{port}/who"}, resolvConf=str(conf))
    assert server_of(post(g, "who")) == "a"
    assert dns.queries("svc.e2e.test")


# ----------------------------------------------------------------------------------------------
# check-config

def _check(tmp_path, dns_section):
    cfg = {"listen": "127.0.0.1:8080", "io": {"dns": dns_section},
           "modules": [{"path": "/ws", "default": "http://svc.example:9000/x"}]}
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(p)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("section,message", [
    ({"server": ["127.0.0.1"]}, "io.dns.server: unknown key"),
    ({"servers": "127.0.0.1"}, "io.dns.servers: expected an array of strings"),
    ({"servers": []}, "io.dns.servers: must name at least one server"),
    ({"servers": ["dns.example:53"]}, "io.dns.servers[0]: not an IP address"),
    ({"servers": ["127.0.0.1", "127.0.0.1:0"]}, "io.dns.servers[1]: not an IP address"),
    ({"servers": ["127.0.0.1:70000"]}, "io.dns.servers[0]: not an IP address"),
    ({"resolvConf": "/nonexistent/resolv.conf"}, "io.dns.resolvConf: cannot read"),
    ({"hostsFile": ""}, "io.dns.hostsFile: must not be empty"),
    ({"hostsFile": "/nonexistent/hosts"}, "io.dns.hostsFile: cannot read"),
    ({"minTtlSeconds": 0}, "io.dns.minTtlSeconds: must be between 1 and 86400"),
    ({"maxTtlSeconds": "long"}, "io.dns.maxTtlSeconds: expected an integer"),
    ({"minTtlSeconds": 60, "maxTtlSeconds": 30}, "io.dns.maxTtlSeconds: must be at least minTtlSeconds (60)"),
    ("8.8.8.8", "io.dns: expected an object"),
])
def test_check_config_rejects_bad_dns_settings(tmp_path, section, message):
    code, out = _check(tmp_path, section)
    assert code != 0 and message in out, out


def test_check_config_accepts_dns_settings(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\n")
    code, out = _check(tmp_path, {"servers": ["127.0.0.1", "10.0.0.2:5353", "[::1]:53", "::1"],
                                  "resolvConf": str(conf), "hostsFile": "/etc/hosts",
                                  "minTtlSeconds": 2, "maxTtlSeconds": 600})
    assert code == 0, out
