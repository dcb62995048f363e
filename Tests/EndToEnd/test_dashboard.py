"""The live dashboard (issue 12, point 1) in headless Chromium against the real gateway under load,
under both engines: `GET /dashboard` serves the page from the binary (no CDN: a strict CSP), the
token taken from the URL fragment goes to sessionStorage and off the URL, the WebSocket count matches
what the test opened, message rates and the per-route table move while clients send, a bad token
gets the login form; `GET /v1/stream` needs the token. DASHBOARD_SCREENSHOT=path keeps a picture."""
import asyncio
import json
import os
import socket

import pytest

from browser import Browser, open_browser
from helpers import ADMIN_TOKEN, call, run, ws_connect
from test_cluster import admin_node, redis  # noqa: F401  (redis: fixture)

CLIENTS = 25


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def _raw_get(port, path, headers=""):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        s.settimeout(3)
        data = b""
        try:
            while b"\r\n\r\n" not in data or (b"event-stream" in data and data.count(b"\n\ndata: ") < 1 and len(data) < 65536):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        return data


def test_stream_and_page_headers(gateway_factory, backend):
    g = gateway_factory(admin=True)
    head = _raw_get(g.admin_port, "/dashboard").decode()
    assert head.startswith("HTTP/1.1 200") and "content-security-policy: default-src 'none'; script-src 'self'" in head.lower()
    assert "<script type=\"module\" src=\"/dashboard.js\">" in head and "https://" not in head.split("\r\n\r\n", 1)[1]
    assert _raw_get(g.admin_port, "/v1/stream").startswith(b"HTTP/1.1 401")
    data = _raw_get(g.admin_port, "/v1/stream?intervalMs=250", f"Authorization: Bearer {ADMIN_TOKEN}\r\n").decode()
    assert "content-type: text/event-stream" in data.lower()
    frame = json.loads(data.split("\n\ndata: ", 1)[1].split("\n\n", 1)[0])
    assert frame["websockets"] == 0 and "counters" in frame and frame["modules"] == {"/ws": 0}
    assert frame["routes"] and len(frame["latencyBounds"]) + 1 == len(frame["routes"][0]["buckets"])


def test_dashboard_live_under_load(gateway_factory, backend, browser):
    g = gateway_factory(admin=True)
    url = f"http://127.0.0.1:{g.admin_port}/dashboard"

    async def client(i, stop, ready):
        async with ws_connect(g.url("/ws")) as ws:
            await call(ws, {"cmd": "echo", "id": 0, "data": i})
            ready.append(i)
            n = 0
            while not stop.is_set():
                n += 1
                await call(ws, {"cmd": "echo" if n % 2 else "local", "id": n, "data": {"i": i, "n": n}})
                await asyncio.sleep(0.01)

    async def body():
        stop, ready = asyncio.Event(), []
        tasks = [asyncio.create_task(client(i, stop, ready)) for i in range(CLIENTS)]
        conn = await open_browser(browser)
        try:
            while len(ready) < CLIENTS:
                await asyncio.sleep(0.05)
            page = await conn.new_page()
            await page.goto(url + f"#token={ADMIN_TOKEN}")
            await page.wait_for("document.getElementById('status').textContent === 'live'", what="live stream")
            assert await page.eval("location.hash") == ""
            assert await page.eval(f"sessionStorage.getItem('gatewayAdminToken')") == ADMIN_TOKEN
            await page.wait_for(f"document.getElementById('websockets').textContent === '{CLIENTS}'",
                                what=f"{CLIENTS} WebSockets shown")
            await page.wait_for("parseFloat(document.getElementById('messages').textContent) > 10", what="messages/s moving")
            rows = await page.wait_for("""(() => {
                const r = [...document.querySelectorAll('#routes tbody tr')].map(tr => [...tr.children].map(td => td.textContent));
                const echo = r.find(x => x[1] === 'echo');
                return echo && parseFloat(echo[2]) > 0 && echo[3] !== '–' ? r : null; })()""", what="echo route row with calls and p50")
            assert any(r[0] == "/ws" and r[1] == "echo" for r in rows), rows
            mods = await page.eval("[...document.querySelectorAll('#modules tbody tr')].map(tr => tr.textContent)")
            assert mods == [f"/ws{CLIENTS}"], mods
            loops = await page.eval("document.querySelectorAll('#loops tbody tr').length")
            assert loops == len(g.stats()["loops"])
            # Figures keep moving: the frame time advances.
            t0 = await page.eval("document.getElementById('about').textContent")
            await asyncio.sleep(2.2)
            assert await page.eval("document.getElementById('about').textContent") != t0
            shot = os.environ.get("DASHBOARD_SCREENSHOT")
            if shot:
                await asyncio.sleep(float(os.environ.get("DASHBOARD_SCREENSHOT_AFTER", "0")))
                await page.screenshot(shot)

            bad = await conn.new_page()
            await bad.goto(url + "#token=wrong-token-wrong-token")
            await bad.wait_for("!document.getElementById('login').hidden", what="login form")
            assert "refused" in await bad.eval("document.getElementById('login-error').textContent")
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await conn.close()
    run(body(), timeout=90)


def test_stream_in_a_cluster_names_the_nodes_and_redis(gateway_factory, backend, redis, browser):  # noqa: F811
    g = admin_node(gateway_factory, redis, [backend.module()], "dash1")
    admin_port = g.admin_port
    data = _raw_get(admin_port, "/v1/stream?intervalMs=250", f"Authorization: Bearer {ADMIN_TOKEN}\r\n").decode()
    frame = json.loads(data.split("\n\ndata: ", 1)[1].split("\n\n", 1)[0])
    assert frame["cluster"]["node"] == "dash1"
    assert [n["id"] for n in frame["cluster"]["nodes"]] == ["dash1"]
    assert frame["cluster"]["redis"] and frame["cluster"]["redis"][0]["state"] == "up"

    async def page_shows_cluster():
        conn = await open_browser(browser)
        try:
            page = await conn.new_page()
            await page.goto(f"http://127.0.0.1:{admin_port}/dashboard#token={ADMIN_TOKEN}")
            text = await page.wait_for("(() => { const t = document.getElementById('cluster').textContent;"
                                       " return t.includes('dash1') ? t : null; })()", what="cluster table")
            assert "up" in text and "redis://" in text, text
            assert "dash1" in await page.eval("document.getElementById('about').textContent")
        finally:
            await conn.close()
    run(page_shows_cluster(), timeout=60)
