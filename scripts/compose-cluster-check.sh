#!/usr/bin/env bash
# Runs docker/compose.cluster.yml (two gateway nodes, Redis, the demo backend, HAProxy) with Podman
# and checks it end to end. Run by hand, as root, on Debian 12; not part of CI.
#
#   scripts/compose-cluster-check.sh            # build the images that are missing, run, check, stop
#   KEEP=1 scripts/compose-cluster-check.sh     # leave the stack running afterwards
#   REBUILD=1 scripts/compose-cluster-check.sh  # build every image again
#   SKIP_APT=1 ...                              # skip apt-get (packages already installed)
#
# It checks: (a) each node lists both in GET /v1/cluster on its admin listener; (b) WebSocket clients
# on node 1 and node 2, connected through the load balancer and directly, receive each other's
# chat.send (room lobby) and an admin publish to all; (c) after `podman stop` of node 1 its clients
# get close 1001, the other node keeps serving through the load balancer (old and new connections,
# /healthz) and lists itself alone; node 1, started again, rejoins and gets traffic again.
#
# How Podman is set up follows ../shared/notes/containers.md: runc, a containers.conf with the nofile
# limit, a Debian base image made with debootstrap (no registry is reachable), builds with
# --network=host --format docker, podman-compose from PyPI in a venv, netavark bridge networking
# (with iptables). Everything generated lives under $WORK (/var/tmp/gateway-podman), not in the tree.
#
# The gateway image is built from docker/Dockerfile itself. Its build stage needs a Swift image; none
# can be pulled here, so a stand-in is made: the Debian base plus the libraries the toolchain needs,
# with the host's toolchain (/opt/swift) and its mirror of the package repositories
# (/opt/swift-packages, used by git through url.insteadOf) mounted read-only during the build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

WORK="${WORK:-/var/tmp/gateway-podman}"
COMPOSE_FILE="docker/compose.cluster.yml"
PROJECT="gateway-cluster"                        # `name:` in the compose file
ADMIN_TOKEN="compose-cluster-admin-token"        # the default in docker/gateway.cluster.json
BASE_IMAGE="localhost/debian:bookworm-slim"
SWIFT_STANDIN="localhost/swift-host:bookworm"
export GATEWAY_IMAGE="${GATEWAY_IMAGE:-localhost/gateway:latest}"
export RUNTIME_IMAGE="$BASE_IMAGE"
export GATEWAY_ADMIN_TOKEN="$ADMIN_TOKEN"
mkdir -p "$WORK"

step "packages"
install_packages podman buildah runc uidmap slirp4netns passt fuse-overlayfs netavark aardvark-dns \
  debootstrap iptables python3-venv python3-websockets curl

# runc (crun fails on this cgroup setup) and a nofile limit root can give (the hard limit is 20000).
cat > "$WORK/containers.conf" <<'EOF'
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
EOF
export CONTAINERS_CONF="$WORK/containers.conf"

if [[ ! -x "$WORK/venv/bin/podman-compose" ]]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q podman-compose
fi
compose() { "$WORK/venv/bin/podman-compose" -f "$COMPOSE_FILE" "$@"; }
compose --version | head -n 1

missing_image() { [[ -n "${REBUILD:-}" ]] || ! podman image exists "$1"; }

step "base image $BASE_IMAGE"
if ! podman image exists "$BASE_IMAGE"; then
  # The mirror apt already uses, read at run time (no host name is kept in the repository).
  MIRROR="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
  rm -rf "$WORK/rootfs"
  nice -n 19 debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
  tar --numeric-owner -C "$WORK/rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$BASE_IMAGE"
  rm -rf "$WORK/rootfs"
fi
echo "have $BASE_IMAGE"

step "gateway image $GATEWAY_IMAGE (docker/Dockerfile)"
if missing_image "$GATEWAY_IMAGE"; then
  ensure_swift
  SWIFT_DIR="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")"   # …/usr/bin/swift
  mkdir -p "$WORK/swift-standin"
  cat > "$WORK/swift-standin/Containerfile" <<EOF
FROM $BASE_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      binutils git libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libncurses6 libpython3.11 \\
      libsqlite3-0 libstdc++-12-dev libxml2 libz3-4 zlib1g-dev ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && git config --system url./opt/swift-packages/.insteadOf https://github.com/
ENV PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
  nice -n 19 podman build --network=host --format docker -t "$SWIFT_STANDIN" "$WORK/swift-standin"
  mounts=(-v "$SWIFT_DIR:/opt/swift:ro")
  if [[ -d /opt/swift-packages ]]; then mounts+=(-v /opt/swift-packages:/opt/swift-packages:ro); fi
  nice -n 19 podman build --network=host --format docker "${mounts[@]}" \
    --build-arg SWIFT_IMAGE="$SWIFT_STANDIN" --build-arg RUNTIME_IMAGE="$BASE_IMAGE" \
    -f docker/Dockerfile -t "$GATEWAY_IMAGE" .
fi
echo "have $GATEWAY_IMAGE"

step "helper images (docker/Dockerfile.apt: haproxy, redis-server, python3)"
if missing_image localhost/gateway-haproxy:local || missing_image localhost/gateway-redis:local \
   || missing_image localhost/gateway-python:local; then
  nice -n 19 "$WORK/venv/bin/podman-compose" -f "$COMPOSE_FILE" \
    --podman-build-args="--network=host --format docker" build lb redis backend
fi
echo "have localhost/gateway-haproxy:local localhost/gateway-redis:local localhost/gateway-python:local"

step "up"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 8080 8081 8082 9091 9092 9000; do
  if port_open "$port"; then
    echo "port $port is already in use on 127.0.0.1; stop whatever listens there first" >&2
    exit 1
  fi
done
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    step "logs (the check failed)"
    for s in gateway1 gateway2 lb redis backend; do
      echo "--- $s"
      podman logs --tail 20 "$(container "$s")" 2>&1 || true
    done
  fi
  if [[ -n "${KEEP:-}" ]]; then
    echo "KEEP is set: the stack keeps running; stop it with"
    echo "  CONTAINERS_CONF=$CONTAINERS_CONF $WORK/venv/bin/podman-compose -f $COMPOSE_FILE down"
  else
    step "down"
    compose down >/dev/null 2>&1 || true
  fi
}
container() {
  podman ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}
trap cleanup EXIT
# (podman logs "unable to get systemd connection" for the HEALTHCHECK: timed checks need systemd.)
if ! compose up -d >"$WORK/up.log" 2>&1; then cat "$WORK/up.log"; exit 1; fi
podman ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}  {{.Status}}  {{.Ports}}'

step "check"
GATEWAY1="$(container gateway1)" ADMIN_TOKEN="$ADMIN_TOKEN" /usr/bin/python3 - <<'PY'
"""The end-to-end check: WebSocket clients (python3-websockets 10) and the admin API."""
import asyncio
import json
import os
import secrets
import sys
import time
import urllib.request

import websockets

TOKEN = os.environ["ADMIN_TOKEN"]
GATEWAY1 = os.environ["GATEWAY1"]
LB = "127.0.0.1:8080"
NODES = {"gw1": {"public": "127.0.0.1:8081", "admin": 9091}, "gw2": {"public": "127.0.0.1:8082", "admin": 9092}}
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def http(url, body=None, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {TOKEN}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=5) as r:
        return r.status, json.loads(r.read())


def admin(node, path, body=None):
    return http(f"http://127.0.0.1:{NODES[node]['admin']}{path}", body)[1]


def cluster_view(node):
    """This node's id and the ids it lists with state `up`."""
    d = admin(node, "/v1/cluster")
    return d["node"], sorted(n["id"] for n in d["nodes"] if n["state"] == "up")


async def podman(*args):
    p = await asyncio.create_subprocess_exec("podman", *args, stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit status {p.returncode}")
    return out.decode()


async def eventually(probe, timeout, every=0.25):
    """probe() until it returns something true or raises nothing for `timeout` s; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = probe()
        except OSError:
            v = None
        if v or time.monotonic() > deadline:
            return v
        await asyncio.sleep(every)


class Client:
    """One WebSocket on /chat; `node` and `conn` come from the admin API (the hello names the user)."""

    @classmethod
    async def open(cls, addr, live=("gw1", "gw2")):
        c = cls()
        c.via = "LB" if addr == LB else "direct"
        t0 = time.monotonic()
        c.ws = await websockets.connect(f"ws://{addr}/chat", open_timeout=10)
        c.user = json.loads(await asyncio.wait_for(c.ws.recv(), 5))["hello"]
        c.connect_ms = (time.monotonic() - t0) * 1000
        c.node = c.conn = None
        for node in live:
            found = admin(node, f"/v1/connections?user={c.user}")["connections"]
            if found:
                c.conn = found[0]["id"]
                c.node = c.conn.split(".")[0]
        return c

    def __str__(self):
        return f"{self.user} ({self.via}, {self.conn})"

    async def expect(self, pred, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic())))
            if pred(m):
                return m

    async def send(self, cmd, data, id=None):
        msg = {"cmd": cmd, "data": data}
        if id is not None:
            msg["id"] = id
        await self.ws.send(json.dumps(msg))


async def chat(a, b):
    """a sends chat.send to room lobby; b must get the push, a its reply."""
    text = f"from {a.user} on {a.node} {secrets.token_hex(3)}"
    t0 = time.monotonic()
    await a.send("chat.send", {"text": text}, id=1)
    try:
        await b.expect(lambda m: m.get("cmd") == "chat.send" and "id" not in m and m["data"]["text"] == text)
        ms = (time.monotonic() - t0) * 1000
        check(True, f"{b} received {text!r} ({ms:.0f} ms)")
    except asyncio.TimeoutError:
        check(False, f"{b} did not receive {text!r}")
    try:
        await a.expect(lambda m: m.get("cmd") == "chat.send" and m.get("id") == 1 and m["data"]["text"] == text)
    except asyncio.TimeoutError:
        check(False, f"{a} got no reply to its chat.send")


async def on_both_nodes(addr, tries=8):
    """Clients through `addr` until one is on gw1 and one on gw2; the others are closed."""
    got, extra = {}, []
    for _ in range(tries):
        c = await Client.open(addr)
        print(f"      {c}: {c.connect_ms:.0f} ms", flush=True)
        if c.node in got:
            extra.append(c)
        else:
            got[c.node] = c
        if len(got) == 2:
            break
    for c in extra:
        await c.ws.close()
    return got


async def main():
    print("(a) node lists")
    for node in NODES:
        view = await eventually(lambda: (v := cluster_view(node))[1] == ["gw1", "gw2"] and v, 15)
        check(bool(view), f"GET /v1/cluster on {node}'s admin listener: node {view[0] if view else '?'}, "
                          f"nodes up {view[1] if view else cluster_view(node)[1]}")

    print("      gw1: GET /v1/cluster -> " + json.dumps(admin("gw1", "/v1/cluster")))
    print("(b) clients on both nodes receive each other's messages")
    lb = await on_both_nodes(LB)
    check(sorted(lb) == ["gw1", "gw2"], f"through the LB, clients landed on {sorted(lb)}")
    direct = {n: await Client.open(NODES[n]["public"]) for n in NODES}
    for n, c in direct.items():
        check(c.node == n, f"direct to {n}: {c}")
    if sorted(lb) == ["gw1", "gw2"]:
        await chat(lb["gw1"], lb["gw2"])
        await chat(lb["gw2"], lb["gw1"])
    await chat(direct["gw1"], direct["gw2"])
    await chat(direct["gw2"], direct["gw1"])
    news = secrets.token_hex(3)
    res = admin("gw1", "/v1/publish", {"to": {"all": True}, "cmd": "news", "data": {"n": news}})
    check(res.get("cluster") is True, f"POST /v1/publish to all on gw1 -> {res}")
    for c in list(lb.values()) + list(direct.values()):
        try:
            await c.expect(lambda m: m.get("cmd") == "news" and m.get("data", {}).get("n") == news)
            check(True, f"{c} on {c.node} received the publish (news {news})")
        except asyncio.TimeoutError:
            check(False, f"{c} did not receive the publish")

    print("(c) podman stop gateway1: gateway2 keeps serving through the LB")
    t0 = time.monotonic()
    # Asynchronously: the clients must go on reading, to answer the gateway's close frames. -t 15 is
    # the compose file's stop_grace_period (podman-compose applies it to its own `stop` only).
    await podman("stop", "-t", "15", GATEWAY1)
    print(f"      podman stop took {time.monotonic() - t0:.2f} s; exit status "
          + (await podman("inspect", "-f", "{{.State.ExitCode}}", GATEWAY1)).strip(), flush=True)
    for c in [lb.get("gw1"), direct["gw1"]]:
        if c is None:
            continue
        try:
            await asyncio.wait_for(c.ws.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass
        check(c.ws.close_code == 1001, f"{c} was closed with {c.ws.close_code} (1001 expected: going away)")
    if "gw2" in lb:
        await chat(lb["gw2"], direct["gw2"])
    fresh = []
    for i in range(4):
        try:
            c = await Client.open(LB, live=("gw2",))
            fresh.append(c)
            check(c.node == "gw2", f"new connection {i + 1} through the LB: {c} in {c.connect_ms:.0f} ms")
        except Exception as e:  # noqa: BLE001 - any failure to connect is the finding
            check(False, f"new connection {i + 1} through the LB failed: {e!r}")
    if len(fresh) >= 2:
        await chat(fresh[0], fresh[1])
    for i in range(3):
        status, body = http(f"http://{LB}/healthz", token=False)
        check(status == 200 and body == {"status": "ok"}, f"GET /healthz through the LB: {status} {body}")
    view = await eventually(lambda: (v := cluster_view("gw2"))[1] == ["gw2"] and v, 10)
    check(bool(view), f"gw2 lists {view[1] if view else cluster_view('gw2')[1]} after gw1 left")

    print("(d) podman start gateway1: it rejoins and gets connections again")
    await podman("start", GATEWAY1)
    for node in NODES:
        view = await eventually(lambda: (v := cluster_view(node))[1] == ["gw1", "gw2"] and v, 20)
        check(bool(view), f"{node} lists {view[1] if view else '?'} again")
    back = None
    for _ in range(40):  # HAProxy needs two good health checks (2 s apart) and a fresh DNS answer
        c = await Client.open(LB)
        if c.node == "gw1":
            back = c
            break
        await c.ws.close()
        await asyncio.sleep(0.5)
    check(back is not None, f"a new connection through the LB reached gw1 again: {back}")
    if back is not None and fresh:
        await chat(back, fresh[0])
        await chat(fresh[0], back)

    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    return 1 if failures else 0


sys.exit(asyncio.run(main()))
PY
