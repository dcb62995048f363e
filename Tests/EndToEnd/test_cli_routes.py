"""`gateway routes` and the warnings of `check-config` (issue 12, point 6): the table lists every
module's exact routes, wildcards (longest first), catch-all and default with what each maps to;
`--command` says where a command goes, and agrees with where the running gateway sends it; risky but
valid settings are warned about without failing."""
import json
import subprocess

from helpers import GATEWAY_BIN, call, run, wait_until, ws_connect


def _cli(tmp_path, cfg, *args):
    p = tmp_path / "gateway.json"
    p.write_text(json.dumps(cfg, indent=2))
    r = subprocess.run([GATEWAY_BIN, *args, "--config", str(p)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def _routes(backend):
    u = backend.url
    return {
        "chat.send": {"url": u("/echo?r=exact"), "deliver": "room", "timeoutMs": 700},
        "user.*": u("/echo?r=user"),
        "user.admin.*": u("/echo?r=useradmin"),
        "*": u("/echo?r=star"),
        "ping": {"local": "echo"},
    }


def test_routes_table(tmp_path, backend):
    cfg = {"listen": "127.0.0.1:1", "modules": [
        backend.module(path="/a", routes=_routes(backend), handshake=backend.url("/hook/accept")),
        {"path": "/b", "parser": "raw", "default": {"url": backend.url("/echo?r=default"), "method": "PUT"}}]}
    code, out, err = _cli(tmp_path, cfg, "routes")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "/a (json)"
    assert "handshake" in lines[1] and backend.url("/hook/accept") in lines[1]
    kinds = [l.split()[0] for l in lines[2:7]]
    assert kinds == ["exact", "exact", "wildcard", "wildcard", "catch-all"], out
    assert "chat.send" in lines[2] and "(deliver room, timeout 700 ms)" in lines[2]
    assert "local echo" in lines[3]
    assert lines[4].split()[1] == "user.admin.*" and lines[5].split()[1] == "user.*", "longest wildcard first"
    assert lines[7] == "/b (raw)" and "default" in lines[8] and "PUT " + backend.url("/echo?r=default") in lines[8]


def test_routes_command_agrees_with_the_gateway(tmp_path, gateway_factory, backend):
    routes = dict(_routes(backend), **{"chat.send": backend.url("/echo?r=exact")})   # replies to the sender
    modules = [backend.module(path="/a", routes=routes),
               backend.module(path="/c", routes={"chat.send": backend.url("/echo?r=c")})]
    cfg = {"listen": "127.0.0.1:1", "modules": modules}
    g = gateway_factory(modules=modules)
    cases = {"chat.send": "exact", "user.x": "user", "user.admin.y": "useradmin", "other": "star"}
    for cmd, tag in cases.items():
        code, out, err = _cli(tmp_path, cfg, "routes", "--command", cmd)
        assert code == 0, err
        a, c = out.splitlines()
        assert a.startswith(f"/a: {cmd} -> ") and f"r={tag}" in a, out
        if cmd == "chat.send":
            assert "r=c" in c
        else:
            assert c == f"/c: {cmd} -> unknown_command (no route, no default)"

        async def body():
            async with ws_connect(g.url("/a")) as ws:
                r = await call(ws, {"cmd": cmd, "id": 1, "data": {"x": 1}})
                assert r.get("data") == {"x": 1}, r
        backend.clear()
        run(body())
        recs = wait_until(lambda: backend.records(prefix="/echo"), what=f"call for {cmd}")
        assert recs[-1]["path"] == f"/echo?r={tag}", recs[-1]


def test_check_config_warns_but_passes(tmp_path, backend):
    risky = {"listen": "0.0.0.0:8080", "admin": {"listen": "0.0.0.0:9090", "token": "x" * 20},
             "limits": {"backendPipelineDepth": 4, "messagesPerSecond": 0},
             "modules": [backend.module(handshake=backend.url("/hook/accept"))]}
    code, out, err = _cli(tmp_path, risky, "check-config")
    assert code == 0 and ": ok" in out, out + err
    warnings = [l for l in err.splitlines() if l.startswith("warning: ")]
    for needle in ["limits.backendPipelineDepth is 4", "limits.maxConnectionsPerIP is 0", "limits.maxConnections is 0",
                   "limits.messagesPerSecond is 0", "admin.tls is not set", "admin.token is 20 characters",
                   "modules[0].origins is not set"]:
        assert any(needle in w for w in warnings), (needle, warnings)
    safe = {"listen": "127.0.0.1:8080", "modules": [backend.module()]}
    code, out, err = _cli(tmp_path, safe, "check-config")
    assert code == 0 and "warning" not in err, err
