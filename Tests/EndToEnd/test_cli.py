"""The command line and process (DESIGN §2, §6): `check-config` exit codes and messages naming the JSON
path, `--version`, `serve` refusing a bad config or arguments, the start-up line naming the engine
(from the flag, GATEWAY_IO_ENGINE or the config), SIGHUP."""
import asyncio
import json
import os
import re
import signal
import subprocess
import time

import pytest
import websockets

from helpers import GATEWAY_BIN, call, run, wait_until, ws_connect


def _check(tmp_path, cfg, env=None, name="gateway.json"):
    p = tmp_path / name
    p.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg, indent=2))
    e = {k: v for k, v in os.environ.items() if not k.startswith("E2E_UNSET")}
    e.update(env or {})
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(p)], capture_output=True, text=True,
                       timeout=30, env=e)
    return r.returncode, r.stdout + r.stderr


def _valid(backend_url="http://127.0.0.1:9000"):
    return {
        "listen": "127.0.0.1:8080",
        "limits": {"maxMessageBytes": 65536},
        "modules": [{
            "path": "/chat",
            "parser": "json",
            "handshake": backend_url + "/ws/handshake",
            "disconnect": backend_url + "/ws/disconnect",
            "routes": {
                "chat.send": {"url": backend_url + "/messages", "timeoutMs": 500},
                "user.*": backend_url + "/rpc",
                "echo": {"local": "echo"},
            },
            "default": backend_url + "/other",
        }],
    }


def test_valid_config_exits_0(tmp_path):
    code, out = _check(tmp_path, _valid())
    assert code == 0, out


def test_unknown_top_level_key(tmp_path):
    cfg = _valid()
    cfg["colour"] = "blue"
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert "colour" in out and "unknown" in out.lower(), out


def test_unknown_nested_key_names_json_path(tmp_path):
    cfg = _valid()
    cfg["modules"][0]["routes"]["chat.send"]["colour"] = 1
    cfg["limits"]["maxMesageBytes"] = 5
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert 'modules[0].routes["chat.send"].colour' in out, out
    assert "limits.maxMesageBytes" in out, out


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "/relative/path", "http://", "not a url",
                                 "http://host:99999/x"])
def test_bad_url_names_json_path(tmp_path, url):
    cfg = _valid()
    cfg["modules"][0]["routes"]["chat.send"]["url"] = url
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert re.search(r'modules\[0\]\.routes\["chat\.send"\]\.url: not an absolute http\(s\) URL', out), out


def test_bad_url_in_string_route_and_hook(tmp_path):
    cfg = _valid()
    cfg["modules"][0]["routes"]["user.*"] = "localhost:9000/rpc"
    cfg["modules"][0]["handshake"] = "tcp://x"
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert 'modules[0].routes["user.*"]' in out, out
    assert "modules[0].handshake" in out, out


def test_duplicate_module_path(tmp_path):
    cfg = _valid()
    second = dict(cfg["modules"][0])
    cfg["modules"].append(second)
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert "modules[1].path" in out and "duplicate" in out.lower(), out


def test_unset_environment_variable(tmp_path):
    cfg = _valid()
    cfg["modules"][0]["routes"]["chat.send"]["url"] = "${E2E_UNSET_BACKEND}/messages"
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert "E2E_UNSET_BACKEND" in out, out
    assert 'modules[0].routes["chat.send"].url' in out, out


def test_set_environment_variable_is_substituted(tmp_path):
    cfg = _valid()
    cfg["modules"][0]["routes"]["chat.send"]["url"] = "${E2E_SET_BACKEND}/messages"
    code, out = _check(tmp_path, cfg, env={"E2E_SET_BACKEND": "http://127.0.0.1:9001"})
    assert code == 0, out
    # ...and the substituted value is validated like any other.
    code, out = _check(tmp_path, cfg, env={"E2E_SET_BACKEND": "nonsense"})
    assert code != 0 and 'modules[0].routes["chat.send"].url' in out, out


def test_invalid_json_and_missing_file(tmp_path):
    code, out = _check(tmp_path, '{"listen": "127.0.0.1:1", "modules": [}')
    assert code != 0
    assert "line" in out.lower(), out
    r = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(tmp_path / "missing.json")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "missing.json" in r.stdout + r.stderr


def test_all_problems_reported(tmp_path):
    cfg = _valid()
    cfg["bogus"] = 1
    cfg["modules"][0]["routes"]["chat.send"]["url"] = "ftp://x"
    code, out = _check(tmp_path, cfg)
    assert code != 0
    assert "bogus" in out and 'modules[0].routes["chat.send"].url' in out, out


def test_version():
    r = subprocess.run([GATEWAY_BIN, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert re.search(r"\d+\.\d+\.\d+", r.stdout), r.stdout


def test_serve_refuses_invalid_config(tmp_path, engine):
    p = tmp_path / "bad.json"
    cfg = _valid()
    cfg["listen"] = "127.0.0.1:0"
    cfg["modules"][0]["routes"]["chat.send"]["url"] = "ftp://x"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "serve", "--config", str(p), "--io-engine", engine],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert 'modules[0].routes["chat.send"].url' in r.stdout + r.stderr


def _wait_engine_line(g, engine):
    """The start-up line names the engine in use (it may be written just after /healthz answers)."""
    pattern = re.compile(r"engine\W+" + re.escape(engine) + r"\b")
    wait_until(lambda: pattern.search(g.log()), timeout=5, what=f"a log line naming engine {engine}")


def test_startup_line_names_engine(gateway, engine):
    _wait_engine_line(gateway, engine)


def test_engine_from_environment(gateway_factory, engine):
    g = gateway_factory(engine_flag=False, env={"GATEWAY_IO_ENGINE": engine})
    _wait_engine_line(g, engine)


def test_engine_from_config(gateway_factory, engine):
    g = gateway_factory(io={"engine": engine}, engine_flag=False)
    _wait_engine_line(g, engine)


@pytest.mark.parametrize("args,what", [(["--io-engine", "bogus"], "bogus"), (["--loops", "0"], "loops")])
def test_serve_rejects_bad_arguments(tmp_path, args, what):
    p = tmp_path / "ok.json"
    cfg = _valid()
    cfg["listen"] = "127.0.0.1:0"
    p.write_text(json.dumps(cfg))
    r = subprocess.run([GATEWAY_BIN, "serve", "--config", str(p)] + args, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert what in r.stdout + r.stderr


def test_sighup_keeps_connections(gateway_factory, backend):
    """SIGHUP must not drop connections (DESIGN section 6)."""
    g = gateway_factory()

    async def main():
        async with ws_connect(g.url()) as ws:
            assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
            g.proc.send_signal(signal.SIGHUP)
            # A reply proves the connection survived only once the reload has been handed to the loops
            # (the gateway logs it right after); a fixed pause could end before the signal was handled.
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: "SIGHUP: reloaded" in g.log(), timeout=5,
                                         what="the reload in the log"))
            assert await call(ws, {"cmd": "x", "id": 2, "data": 2}) == {"cmd": "x", "id": 2, "data": 2}
    run(main())
    assert g.proc.poll() is None


def test_sighup_reloads_config(gateway_factory, backend):
    g = gateway_factory()
    cfg = json.loads(open(g.config_path).read())
    cfg["modules"][0]["routes"]["added.later"] = {"local": "echo"}
    with open(g.config_path, "w") as f:
        json.dump(cfg, f)

    async def main():
        async with ws_connect(g.url()) as ws:
            g.proc.send_signal(signal.SIGHUP)
            # The existing connection survives and sees the new route once the reload is done.
            deadline = time.monotonic() + 3
            while True:
                r = await call(ws, {"cmd": "added.later", "id": 1, "data": 1})
                if "error" not in r or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert r == {"cmd": "added.later", "id": 1, "data": 1}
    run(main())


def test_sighup_with_invalid_config_keeps_the_old_one(gateway_factory, backend):
    """A reload that fails validation changes nothing (never half-applied) and the gateway keeps
    serving with the config it had."""
    g = gateway_factory()
    cfg = json.loads(open(g.config_path).read())
    cfg["modules"][0]["routes"]["added.later"] = {"local": "echo"}
    cfg["modules"][0]["routes"]["x"] = "ftp://not-http"      # invalid
    with open(g.config_path, "w") as f:
        json.dump(cfg, f)

    async def main():
        async with ws_connect(g.url()) as ws:
            g.proc.send_signal(signal.SIGHUP)
            # Wait until the gateway has dealt with the signal (it logs the rejected reload).
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: "ftp://not-http" in g.log(), timeout=5,
                                         what="the reload error in the log"))
            assert await call(ws, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
            r = await call(ws, {"cmd": "added.later", "id": 2, "data": 2})
            assert r.get("error", {}).get("code") == "unknown_command", r
        # New connections too.
        async with ws_connect(g.url()) as ws:
            assert await call(ws, {"cmd": "x", "id": 3, "data": 3}) == {"cmd": "x", "id": 3, "data": 3}
    run(main())
    assert g.proc.poll() is None


def test_sighup_changes_modules_and_limits_without_dropping_connections(gateway_factory, backend):
    """A reload adds a module and lowers maxMessageBytes: the open WebSocket keeps working, the new
    path upgrades, and a message over the new limit closes with 1009."""
    g = gateway_factory(limits={"maxMessageBytes": 65536})
    cfg = json.loads(open(g.config_path).read())
    cfg["modules"].append({"path": "/added", "parser": "json", "default": {"local": "echo"}})
    cfg["limits"]["maxMessageBytes"] = 100
    big = {"cmd": "x", "id": 9, "data": "y" * 200}

    async def main():
        async with ws_connect(g.url()) as ws:
            assert await call(ws, big) == big  # the old limit allows 200 bytes
            with pytest.raises(websockets.exceptions.InvalidStatusCode):
                await ws_connect(g.url("/added"))
            with open(g.config_path, "w") as f:
                json.dump(cfg, f)
            g.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 3
            while True:
                try:
                    added = await ws_connect(g.url("/added"))
                    break
                except websockets.exceptions.InvalidStatusCode:
                    assert time.monotonic() < deadline, "the new module never appeared"
                    await asyncio.sleep(0.05)
            assert await call(added, {"cmd": "hello", "id": 1, "data": 1}) == {"cmd": "hello", "id": 1, "data": 1}
            await added.send(json.dumps(big))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await added.recv()
            assert closed.value.rcvd.code == 1009
            # The connection opened before the reload was never dropped.
            assert await call(ws, {"cmd": "x", "id": 2, "data": 2}) == {"cmd": "x", "id": 2, "data": 2}
    run(main())
    assert g.proc.poll() is None
