#!/usr/bin/env bash
# Start Pushpin in the foreground with the repo's benchmark config, proxying WebSocket
# clients via WebSocket-over-HTTP to the bench backend (POST /pushpin).
#
#   bench/pushpin/run-pushpin.sh LISTEN_PORT BACKEND_PORT RUN_DIR [PUBLISH_PORT]
#
#   LISTEN_PORT   client port (HTTP + WebSocket), all interfaces
#   BACKEND_PORT  port of /work/shared/bench/backend (127.0.0.1)
#   RUN_DIR       scratch dir for rendered config, IPC sockets, pid files, logs
#                 (e.g. /tmp/pushpin-bench; created if missing; keep it short: IPC paths
#                 must fit in 107 bytes)
#   PUBLISH_PORT  HTTP publish API port on 127.0.0.1 (default 5561): /publish/
#
# Env: PUSHPIN_BIN (default pushpin), PUSHPIN_LOG_LEVEL (default 1 = warnings; 2 logs every
# request, which costs CPU under load), PUSHPIN_MESSAGE_RATE / PUSHPIN_MESSAGE_HWM
# (default 0 = unlimited; Pushpin's stock values are 2500 / 25000),
# PUSHPIN_CLIENT_MAXCONN (default 100000).
#
# The script execs Pushpin's runner (with --merge-output, so condure, zurl, pushpin-proxy and
# pushpin-handler log to this stdout/stderr). SIGTERM/SIGINT to this pid stop the runner,
# which stops its children and exits.
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 LISTEN_PORT BACKEND_PORT RUN_DIR [PUBLISH_PORT]" >&2
    exit 2
fi
listen_port=$1 backend_port=$2 run_dir=$3 publish_port=${4:-5561}
for p in "$listen_port" "$backend_port" "$publish_port"; do
    case $p in ''|*[!0-9]*) echo "$0: bad port: $p" >&2; exit 2 ;; esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pushpin_bin=${PUSHPIN_BIN:-pushpin}
command -v "$pushpin_bin" >/dev/null || { echo "$0: $pushpin_bin not found (apt-get install pushpin)" >&2; exit 1; }

mkdir -p "$run_dir/log"
run_dir=$(cd "$run_dir" && pwd)
case $run_dir in *[@\|\&\\]*) echo "$0: run dir must not contain @ | & or backslash" >&2; exit 2 ;; esac

render() {
    sed -e "s|@RUNDIR@|$run_dir|g" \
        -e "s|@HTTP_PORT@|$listen_port|g" \
        -e "s|@PUBLISH_PORT@|$publish_port|g" \
        -e "s|@BACKEND_PORT@|$backend_port|g" \
        -e "s|@LOG_LEVEL@|${PUSHPIN_LOG_LEVEL:-1}|g" \
        -e "s|@MESSAGE_RATE@|${PUSHPIN_MESSAGE_RATE:-0}|g" \
        -e "s|@MESSAGE_HWM@|${PUSHPIN_MESSAGE_HWM:-0}|g" \
        -e "s|@CLIENT_MAXCONN@|${PUSHPIN_CLIENT_MAXCONN:-100000}|g" \
        "$1" > "$2"
}
render "$here/pushpin.conf.in" "$run_dir/pushpin.conf"
render "$here/routes.in" "$run_dir/routes"

# Many client connections: raise the fd limit as far as allowed (children inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "pushpin: listen :$listen_port -> backend 127.0.0.1:$backend_port/pushpin, publish http://127.0.0.1:$publish_port/publish/, run dir $run_dir" >&2
exec "$pushpin_bin" --config "$run_dir/pushpin.conf" --merge-output
