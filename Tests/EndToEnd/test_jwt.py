"""Token auth at connect (DESIGN §9, issue 10): a module with `auth.jwt` checks the handshake's token
itself, with no hook call. Tokens are made by PyJWT (Debian's python3-jwt); the gateway is the real
binary under the engine of the run, with the e2e backend behind its routes."""
import asyncio
import base64
import json
import time
import urllib.parse

import pytest

from helpers import call, expect_closed, handshake_request, http_raw, run, ws_connect

jwt = pytest.importorskip("jwt", reason="PyJWT is not installed (apt-get install python3-jwt)")

SECRET = "a-test-secret-that-is-long-enough-for-hs256!"


def module(backend, **jwt_extra):
    return {"path": "/c", "parser": "json",
            "auth": {"jwt": {"algorithms": ["HS256", "HS512"], "secret": SECRET, "issuer": "https://auth.test",
                             "audience": "chat", **jwt_extra}},
            "routes": {"headers": backend.url("/headers"), "ping": {"local": "echo"}}}


def token(claims=None, key=SECRET, alg="HS256", headers=None, **extra):
    body = {"sub": "alice", "iss": "https://auth.test", "aud": "chat", "exp": int(time.time()) + 300,
            "rooms": ["lobby", "red"]}
    body.update(claims or {})
    body.update(extra)
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def handshake_status(g, path, extra=()):
    status, headers, body = http_raw(g.port, handshake_request(path, extra=extra))
    return status, headers, body


def test_a_valid_token_sets_the_user_and_rooms_without_a_hook(gateway_factory, backend):
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module(backend)]})

    async def main():
        # From the query (a browser cannot set headers on a WebSocket) and from Authorization.
        for ws in (await ws_connect(g.url("/c?token=" + token())),
                   await ws_connect(g.url("/c"), extra_headers={"Authorization": "Bearer " + token(alg="HS512")})):
            headers = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
            assert headers["gateway-user"] == "alice", headers
            assert await call(ws, {"cmd": "ping", "id": 1, "data": 1}) == {"cmd": "ping", "id": 1, "data": 1}
            await ws.close()
    run(main())
    assert not backend.records(path="/hook"), "no hook was called"


@pytest.mark.parametrize("case", ["none", "rs256", "wrong-key", "expired", "not-yet", "audience", "issuer",
                                  "garbage", "missing", "huge", "rooms-type", "tampered"])
def test_a_bad_token_gets_401_and_no_upgrade(gateway_factory, backend, case):
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module(backend)]})
    good = token()
    h, p, s = good.split(".")
    tok = {
        "none": b64({"alg": "none", "typ": "JWT"}) + "." + p + ".",
        # Algorithm confusion: a token that says RS256 (here signed with HMAC over the "public key").
        "rs256": b64({"alg": "RS256", "typ": "JWT"}) + "." + p + "." + s,
        "wrong-key": token(key="another-secret-that-is-long-enough-for-it"),
        "expired": token(exp=int(time.time()) - 120),
        "not-yet": token(nbf=int(time.time()) + 120),
        "audience": token(aud="billing"),
        "issuer": token(iss="https://evil.test"),
        "garbage": "not.a.token!",
        "missing": None,
        "huge": token(pad="x" * 65536),
        "rooms-type": token(rooms="lobby"),
        "tampered": h + "." + b64({"sub": "root", "iss": "https://auth.test", "aud": "chat"}) + "." + s,
    }[case]
    path = "/c" if tok is None else "/c?token=" + urllib.parse.quote(tok)
    status, headers, body = handshake_status(g, path)
    if case == "huge":
        # The request line is past the gateway's limit before the token is looked at: refused either way.
        assert status in (401, 414, 431), (status, body)
    else:
        assert status == 401, (status, body)
        assert headers.get("www-authenticate", "").startswith("Bearer"), headers
        assert "token" in json.loads(body)["error"], body
    # Still serving everyone else.
    status, _, _ = handshake_status(g, "/c?token=" + token())
    assert status == 101


def test_the_connection_closes_with_4001_when_the_token_expires(gateway_factory, backend):
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module(backend, leewaySeconds=0)]})

    async def main():
        ws = await ws_connect(g.url("/c?token=" + token(exp=int(time.time()) + 2)))
        assert await call(ws, {"cmd": "ping", "id": 1, "data": 1}) == {"cmd": "ping", "id": 1, "data": 1}
        started = time.monotonic()
        await asyncio.wait_for(ws.wait_closed(), 6)
        assert ws.close_code == 4001 and ws.close_reason == "token expired", (ws.close_code, ws.close_reason)
        assert time.monotonic() - started < 4
    run(main())


def test_post_commands_need_the_token_too(gateway_factory, backend):
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module(backend)]})
    body = json.dumps({"cmd": "headers", "data": {}}).encode()

    def post(extra=""):
        req = (f"POST /c HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               f"{extra}Connection: close\r\n\r\n").encode() + body
        return http_raw(g.port, req)
    status, _, _ = post()
    assert status == 401
    status, _, resp = post(f"Authorization: Bearer {token()}\r\n")
    assert status == 200, resp
    assert json.loads(resp)["data"]["headers"]["gateway-user"] == "alice"


def test_config_mistakes_name_their_path(gateway_factory, tmp_path):
    import subprocess
    from helpers import GATEWAY_BIN
    bad = {"listen": "127.0.0.1:0", "modules": [{"path": "/c", "default": {"local": "echo"},
                                                  "auth": {"jwt": {"algorithms": ["RS256", "HS999"], "secret": "short"}}}]}
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps(bad))
    out = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "modules[0].auth.jwt.algorithms[0]: RS256 is not supported yet" in text, text
    assert "modules[0].auth.jwt.algorithms[1]: unknown algorithm" in text, text
    assert "modules[0].auth.jwt.secret: must be at least 32 bytes" in text, text
