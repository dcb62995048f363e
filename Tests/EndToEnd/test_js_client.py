"""The JavaScript client (clients/js) against the real gateway under each engine: runs its Node test
suite (`node --test`), which starts this binary and the end-to-end backend itself (round trip, errors,
pushes, the handshake hook's first message, restart and reconnect, request timeout, offline queue)."""
import os
import shutil
import subprocess

from helpers import GATEWAY_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "..", "clients", "js")


def test_node_suite(engine):
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is not installed (scripts/test.sh installs Debian's nodejs)"
    env = dict(os.environ, GATEWAY_BIN=GATEWAY_BIN, GATEWAY_IO_ENGINE=engine)
    p = subprocess.run([node, "--test", "test/client.test.js"], cwd=CLIENT, env=env,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    assert "# fail 0" in p.stdout and "# pass " in p.stdout, p.stdout[-3000:]
