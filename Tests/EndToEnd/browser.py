"""Headless Chromium for the end-to-end tests, driven over the DevTools protocol (CDP) with
python3-websockets: open a page, evaluate JavaScript in it (awaiting promises), take a screenshot.
Debian's `chromium` package; scripts/test.sh installs it."""
import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

import websockets


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium process with a fresh profile; `page()` opens a tab."""

    def __init__(self):
        binary = chromium_binary()
        assert binary, "chromium is not installed (scripts/test.sh installs Debian's chromium)"
        self.profile = tempfile.mkdtemp(prefix="gw-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or len(open(port_file).read().split()) < 2:
            assert self.proc.poll() is None, "chromium exited at start-up"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port, path = open(port_file).read().split()[:2]
        self.ws_url = f"ws://127.0.0.1:{port}{path}"

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """A tab, attached through the browser's CDP socket (flattened sessions)."""

    def __init__(self, conn, session):
        self.conn, self.session = conn, session
        self.console = []

    async def send(self, method, params=None, timeout=30):
        return await self.conn.call(method, params, session=self.session, timeout=timeout)

    async def goto(self, url, timeout=30):
        await self.send("Page.navigate", {"url": url}, timeout)
        deadline = time.monotonic() + timeout
        while (await self.eval("document.readyState")) != "complete":
            assert time.monotonic() < deadline, f"page did not load: {url}"
            await asyncio.sleep(0.05)

    async def eval(self, expression, timeout=30):
        """The value of `expression` (a promise is awaited); a thrown error fails the test."""
        r = await self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                 "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise AssertionError(f"page threw: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    async def wait_for(self, expression, timeout=15, what=None):
        deadline = time.monotonic() + timeout
        while True:
            v = await self.eval(expression)
            if v:
                return v
            assert time.monotonic() < deadline, f"timed out waiting for {what or expression}; console: {self.console[-10:]}"
            await asyncio.sleep(0.1)

    async def screenshot(self, path):
        r = await self.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))


class Connection:
    """The browser-level CDP socket: calls by id, events to pages by session."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting = {}
        self.pages = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.waiting:
                self.waiting.pop(msg["id"]).set_result(msg)
            elif msg.get("method") == "Runtime.consoleAPICalled":
                page = self.pages.get(msg.get("sessionId"))
                if page:
                    args = msg["params"].get("args", [])
                    page.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))

    async def call(self, method, params=None, session=None, timeout=30):
        i = next(self.ids)
        fut = asyncio.get_running_loop().create_future()
        self.waiting[i] = fut
        msg = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        r = await asyncio.wait_for(fut, timeout)
        if "error" in r:
            raise AssertionError(f"CDP {method}: {r['error']}")
        return r["result"]

    async def new_page(self):
        target = (await self.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        page = Page(self, session)
        self.pages[session] = page
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def close(self):
        self.reader.cancel()
        await self.ws.close()


async def open_browser(browser):
    ws = await websockets.connect(browser.ws_url, max_size=64 * 1024 * 1024)
    return Connection(ws)
