"""The JavaScript client (clients/js) and the demo page in headless Chromium against the real gateway,
under both engines: the demo page connects, shows the handshake hook's welcome and answers its buttons;
in the page, the client's round trip, gateway error, push, request timeout, and reconnect after the
gateway closes the connection (admin API)."""
import json
import os
import re
import subprocess
import sys

import pytest

from browser import Browser, open_browser
from helpers import run, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def demo_backend():
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "demo", "backend.py"), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, f"demo backend did not start: {line!r}"
    proc.port = int(m.group(1))
    yield proc
    proc.terminate()
    proc.wait(5)


def modules(demo_port, backend):
    bundled = json.load(open(os.path.join(REPO, "gateway.json")))
    chat = next(m for m in bundled["modules"] if m["path"] == "/chat")
    chat = json.loads(json.dumps(chat).replace("127.0.0.1:9000", f"127.0.0.1:{demo_port}"))
    test = backend.module(path="/t", routes={
        "echo": backend.url("/echo"), "slow": {"url": backend.url("/slow/1000"), "timeoutMs": 5000},
        "shout": {"url": backend.url("/echo"), "deliver": "others"}})
    return [chat, test]


def test_demo_page_and_client_in_chromium(gateway_factory, backend, demo_backend, browser):
    g = gateway_factory(modules=modules(demo_backend.port, backend), admin=True)
    page_url = f"http://127.0.0.1:{demo_backend.port}/?ws={g.url('/chat')}"

    async def body():
        conn = await open_browser(browser)
        try:
            page = await conn.new_page()
            await page.goto(page_url)
            # The demo page: connected through the client, the welcome shown, the buttons answered.
            await page.wait_for("document.getElementById('state').textContent === 'open'", what="demo page open")
            await page.wait_for("document.getElementById('log').textContent.includes('hello')", what="welcome")
            await page.eval("document.getElementById('echo').click()")
            await page.wait_for("document.getElementById('log').textContent.includes('echo {\"text\":\"ping\"}')",
                                what="echo reply in the log")
            await page.eval("document.getElementById('whoami').click()")
            await page.wait_for("document.getElementById('log').textContent.includes('user.whoami {\"command\"')",
                                what="whoami reply")
            assert g.stats()["connections"]["websockets"] == 1

            # The client itself, in the browser.
            t = g.url("/t")
            r = await page.eval(f"""(async () => {{
                const {{ connect }} = await import('/gateway-client.js');
                const a = connect({json.dumps(t)}), b = connect({json.dumps(t)});
                const out = {{}};
                out.echo = await a.request('echo', {{ n: 1, s: 'é' }});
                try {{ await a.request('nope'); }} catch (e) {{ out.error = [e.name, e.code]; }}
                const pushed = new Promise((resolve) => b.on('shout', resolve));
                await b.request('echo', 0);          // b is open before a shouts
                a.send('shout', {{ hi: 'b' }});
                out.push = await pushed;
                try {{ await a.request('slow', {{}}, {{ timeoutMs: 100 }}); }} catch (e) {{ out.timeout = e.code; }}
                window.clientA = a;
                out.state = a.state;
                b.close();
                return out;
            }})()""")
            assert r == {"echo": {"n": 1, "s": "é"}, "error": ["GatewayError", "unknown_command"],
                         "push": {"hi": "b"}, "timeout": "timeout", "state": "open"}, r

            # Reconnect: the gateway closes the client's connection; it comes back by itself.
            # b.close() only starts b's close handshake: wait until the gateway has ended it (a CI
            # run listed both connections when it asked at once).
            def t_ids():
                _, _, raw = g.admin("GET", "/v1/connections")
                return [c["id"] for c in json.loads(raw)["connections"] if c["path"] == "/t"]
            ids = wait_until(lambda: (lambda i: i if len(i) == 1 else None)(t_ids()), timeout=5,
                             what="only a's connection listed on /t after b.close()")
            await page.eval("window.states = []; window.clientA.on('state', (s) => window.states.push(s)); 1")
            status, _, _ = g.admin("POST", f"/v1/connections/{ids[0]}/close", {"code": 4000, "reason": "test"})
            assert status in (200, 202, 204)
            await page.wait_for("window.states.includes('reconnecting') && window.clientA.state === 'open'",
                                what="reconnected")
            assert await page.eval("window.clientA.request('echo', 'back')") == "back"
        finally:
            await conn.close()
    run(body(), timeout=90)
