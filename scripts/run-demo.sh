#!/usr/bin/env bash
# Installs what the demo needs (Debian 12), builds the gateway (release) and runs it with the demo
# backend: demo/backend.py on 127.0.0.1:9000 in the background, the gateway (gateway.json, port 8080)
# in this terminal. Ctrl-C stops both (a second Ctrl-C skips the gateway's graceful drain).
#
#   scripts/run-demo.sh                         # everything
#   SKIP_APT=1 scripts/run-demo.sh              # skip apt-get (packages already installed)
#   scripts/run-demo.sh --io-engine epoll       # extra arguments go to `gateway serve`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

step "system packages"
# python3-websockets only provides the `python3 -m websockets` command-line client shown below.
install_packages build-essential pkg-config liburing-dev libcurl4-openssl-dev libhiredis-dev libssl-dev zlib1g-dev libc-ares-dev python3 python3-websockets
ensure_swift

step "build (release)"
swift build -c release --product gateway 2>&1 | tail -n 3
BIN="$(swift build -c release --show-bin-path)/gateway"
"$BIN" check-config --config gateway.json

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 9000 8080; do
  if port_open "$port"; then
    echo "port $port is already in use on 127.0.0.1; stop whatever listens there first" >&2
    exit 1
  fi
done

step "demo backend (http://127.0.0.1:9000/)"
python3 "$ROOT/demo/backend.py" &
BACKEND_PID=$!
GW_PID=""
cleanup() {
  if [[ -n "$GW_PID" ]]; then kill -TERM "$GW_PID" 2>/dev/null || true; fi
  kill -TERM "$BACKEND_PID" 2>/dev/null || true
  wait "$BACKEND_PID" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do port_open 9000 && break; sleep 0.05; done
if ! kill -0 "$BACKEND_PID" 2>/dev/null; then echo "the demo backend did not start" >&2; exit 1; fi

step "gateway (ws://127.0.0.1:8080/chat)"
"$BIN" serve --config gateway.json "$@" &
GW_PID=$!
# Ctrl-C sends SIGINT to the whole foreground process group: the gateway receives it itself (it
# blocks the signal and waits for it with sigwait, so the SIG_IGN that bash gives background jobs does
# not hide it) and drains, closing WebSockets with 1001; a second Ctrl-C makes it exit at once. The
# backend ignores SIGINT (background job) and keeps answering disconnect hooks during the drain.
# SIGTERM sent to this script alone is passed on to the gateway.
trap 'echo; echo "stopping the gateway (Ctrl-C again to skip the drain)"' INT
trap 'kill -TERM "$GW_PID" 2>/dev/null || true' TERM HUP
for _ in $(seq 100); do port_open 8080 && break; kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$GW_PID" 2>/dev/null; then
  cat <<'EOF'

  Open http://127.0.0.1:9000/ in a browser (the page connects to ws://<host>:8080/chat),
  or talk to the gateway from a terminal:

    python3 -m websockets ws://127.0.0.1:8080/chat
    > {"cmd":"chat.send","id":1,"data":{"text":"hello"}}
    > {"cmd":"echo","id":2,"data":[1,2,3]}
    > {"cmd":"user.whoami","id":3}

  Ctrl-C stops the gateway and the backend.

EOF
fi
while kill -0 "$GW_PID" 2>/dev/null; do wait "$GW_PID" || true; done
status=0
wait "$GW_PID" 2>/dev/null || status=$?
exit "$status"
