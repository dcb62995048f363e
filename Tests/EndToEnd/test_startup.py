"""Start-up failures refuse to start (DESIGN §2: every start-up error exits 1 with the reason): here
a loop that cannot be created. With 64 loops and a descriptor limit of 100, the 64 listening
sockets (bound first, on the main thread) fit, but the loops' engines (an epoll instance or
io_uring ring plus an eventfd each) cannot all be created. The gateway must not log "listening" and
run with the loops it got: it exits 1 naming the loop and the errno."""
import json
import resource
import subprocess

from helpers import GATEWAY_BIN

LOOPS = 64
NOFILE = 100


def _limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def test_loop_that_cannot_start_stops_the_gateway(tmp_path, engine):
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps({
        "listen": "127.0.0.1:0",
        "modules": [{"path": "/ws", "routes": {"echo": {"local": "echo"}}, "default": {"local": "echo"}}],
    }))
    r = subprocess.run([GATEWAY_BIN, "serve", "--config", str(p), "--io-engine", engine, "--loops", str(LOOPS)],
                       capture_output=True, text=True, timeout=60, preexec_fn=_limit_descriptors)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "listening on" not in out, out
    assert "cannot start" in out and "loop " in out and "EMFILE" in out, out
