"""examples/: the chat backend in Python and in Node, each behind the real gateway with the bundled
gateway.json's /chat module (its URLs pointed at the example), under both engines: the handshake hook's
welcome, chat.send to the sender and to the room, user.* by wildcard, the local echo, a bad message,
and the disconnect hook."""
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest

from helpers import call, recv_json, run, wait_until, ws_connect

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLES = {
    "python": [sys.executable, os.path.join(REPO, "examples", "chat-python", "backend.py")],
    "node": [shutil.which("node") or "node", os.path.join(REPO, "examples", "chat-node", "backend.mjs")],
}


@pytest.fixture(params=sorted(EXAMPLES))
def example(request):
    proc = subprocess.Popen(EXAMPLES[request.param] + ["--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, f"{request.param} example did not start: {line!r}"
    lines = []
    proc.lines = lines
    threading.Thread(target=lambda: [lines.append(l) for l in proc.stdout], daemon=True).start()
    proc.port = int(m.group(1))
    yield proc
    proc.terminate()
    proc.wait(5)


def chat_module(port):
    """The bundled gateway.json's /chat module, its backend URLs pointed at `port`."""
    bundled = json.load(open(os.path.join(REPO, "gateway.json")))
    module = next(m for m in bundled["modules"] if m["path"] == "/chat")
    return json.loads(json.dumps(module).replace("127.0.0.1:9000", f"127.0.0.1:{port}"))


def test_chat_example(gateway_factory, example):
    g = gateway_factory(modules=[chat_module(example.port)])

    async def body():
        async with ws_connect(g.url("/chat")) as a, ws_connect(g.url("/chat")) as b:
            hello_a, hello_b = await recv_json(a), await recv_json(b)
            assert re.fullmatch(r"guest-\d+", hello_a["hello"]) and hello_a != hello_b
            r = await call(a, {"cmd": "chat.send", "id": 1, "data": {"text": "hi"}})
            assert r["id"] == 1 and r["data"]["text"] == "hi" and r["data"]["from"] == hello_a["hello"]
            push = await recv_json(b)
            assert push["cmd"] == "chat.send" and "id" not in push and push["data"]["from"] == hello_a["hello"]
            r = await call(a, {"cmd": "user.whoami", "id": "w"})
            assert r["data"] == {"command": "user.whoami", "user": hello_a["hello"], "rooms": ["lobby"]}
            r = await call(a, {"cmd": "echo", "id": 2, "data": [1, 2]})
            assert r["data"] == [1, 2]
            r = await call(a, {"cmd": "chat.send", "id": 3, "data": 42})
            assert r["error"]["code"] == "backend_error" and r["error"]["status"] == 400
            return hello_a["hello"]
    user = run(body())
    # The hook is retried with backoff (0.1 s, 0.2 s, …) if the backend is slow to take it: allow for a
    # loaded machine, and say what the backend and the gateway logged if it never comes.
    wait_until(lambda: any(l.startswith(f"disconnect {user}") for l in example.lines), timeout=15,
               what=f"disconnect hook for {user}; backend printed {example.lines[-6:]}; gateway log tail {g.log()[-600:]!r}")
