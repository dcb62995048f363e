#!/usr/bin/env bash
# Benchmark suite: the gateway (io_uring and epoll) side by side with uWebSockets and Pushpin.
# A thin wrapper around scripts/bench/bench.py (Python standard library only); see
# `scripts/bench.sh --help` and bench/README.md.
#
#   UWS_ECHO_BIN=/work/refs/bin/uws-echo UWS_BROADCAST_BIN=/work/refs/bin/uws-broadcast \
#     scripts/bench.sh --quick                 # every scenario once, 2 s windows (smoke test)
#   scripts/bench.sh --runs 3 --scenarios S1,S2
#
# Output: reports/bench-<YYYYmmdd-HHMMSS>/{results.json,report.md,chart.svg,logs/}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Same Swift lookup as scripts/lib.sh (without installing anything).
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi

PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
exec "$PYTHON" "$ROOT/scripts/bench/bench.py" "$@"
