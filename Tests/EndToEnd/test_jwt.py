"""Token auth at connect (DESIGN §9, issue 10): a module with `auth.jwt` checks the handshake's token
itself, with no hook call. Tokens are made by PyJWT (Debian's python3-jwt); the gateway is the real
binary under the engine of the run, with the e2e backend behind its routes."""
import asyncio
import base64
import hmac
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


def test_a_token_valid_for_centuries_is_served(gateway_factory, backend):
    """exp in the year 3000 (or past what a 64-bit ns timer holds): the connection is served, and
    the expiry timer neither traps nor fires at once."""
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [module(backend)]})

    async def main():
        for exp in (32503680000, 2 ** 62, 10 ** 300):
            ws = await ws_connect(g.url("/c?token=" + token(exp=exp)))
            assert await call(ws, {"cmd": "ping", "id": 1, "data": 1}) == {"cmd": "ping", "id": 1, "data": 1}
            await asyncio.sleep(0.2)
            assert await call(ws, {"cmd": "ping", "id": 2, "data": 2}) == {"cmd": "ping", "id": 2, "data": 2}
            await ws.close()
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
    assert "modules[0].auth.jwt.publicKeys: required for RS256" in text, text
    assert "modules[0].auth.jwt.algorithms[1]: unknown algorithm" in text, text
    assert "modules[0].auth.jwt.secret: must be at least 32 bytes" in text, text
    # A key file that does not exist, or holds no public key.
    (tmp_path / "empty.pem").write_text("nothing here\n")
    for path, want in ((tmp_path / "absent.pem", "cannot read"), (tmp_path / "empty.pem", "no public key")):
        bad["modules"][0]["auth"] = {"jwt": {"algorithms": ["ES256"], "publicKeys": str(path)}}
        cfg.write_text(json.dumps(bad))
        out = subprocess.run([GATEWAY_BIN, "check-config", "--config", str(cfg)], capture_output=True, text=True, timeout=20)
        assert out.returncode != 0 and f"modules[0].auth.jwt.publicKeys: {want}" in out.stdout + out.stderr


def keypairs(tmp_path):
    """An RSA and a P-256 key pair, the public halves in one PEM file (as publicKeys takes them)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pub = lambda k: k.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "jwt-keys.pem"
    path.write_bytes(pub(rsa_key) + pub(ec_key))
    return rsa_key, ec_key, path, pub(rsa_key)


def test_rs256_and_es256_tokens_verify_against_the_key_file(gateway_factory, backend, tmp_path):
    rsa_key, ec_key, path, rsa_pub = keypairs(tmp_path)
    mod = {"path": "/c", "parser": "json",
           "auth": {"jwt": {"algorithms": ["RS256", "ES256"], "publicKeys": str(path), "audience": "chat"}},
           "routes": {"headers": backend.url("/headers")}}
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [mod]})
    from cryptography.hazmat.primitives.asymmetric import ec
    stranger = ec.generate_private_key(ec.SECP256R1())

    async def main():
        for key, alg, who in ((rsa_key, "RS256", "rita"), (ec_key, "ES256", "eve")):
            ws = await ws_connect(g.url("/c?token=" + token(key=key, alg=alg, sub=who, iss=None)))
            headers = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
            assert headers["gateway-user"] == who
            await ws.close()
    run(main())
    # Algorithm confusion: an HS256 token "signed" with the RSA public key as its HMAC secret.
    signing_input = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64({"sub": "x", "aud": "chat"})
    confused = signing_input + "." + base64.urlsafe_b64encode(
        hmac.new(rsa_pub, signing_input.encode(), "sha256").digest()).rstrip(b"=").decode()
    es_head = token(key=ec_key, alg="ES256", iss=None).rsplit(".", 1)[0]
    rs_sig = token(key=rsa_key, alg="RS256", iss=None).rsplit(".", 1)[1]
    bad = {"confusion": confused,
           "stranger": token(key=stranger, alg="ES256", iss=None),   # a key not in the file
           "swapped-signature": es_head + "." + rs_sig}
    for name, tok in bad.items():
        status, _, body = handshake_status(g, "/c?token=" + urllib.parse.quote(tok))
        assert status == 401, (name, status, body)


def test_sighup_rereads_the_key_file(gateway_factory, backend, tmp_path):
    """New connections are checked against the keys as the file says after a SIGHUP; a connection
    opened before stays open."""
    import signal
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from helpers import wait_until
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    pem = lambda k: k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "keys.pem"
    path.write_bytes(pem(old))
    mod = {"path": "/c", "parser": "json", "auth": {"jwt": {"algorithms": ["ES256"], "publicKeys": str(path)}},
           "routes": {"ping": {"local": "echo"}}}
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [mod]})
    t_old, t_new = token(key=old, alg="ES256", iss=None, aud=None), token(key=new, alg="ES256", iss=None, aud=None)

    async def main():
        ws = await ws_connect(g.url("/c?token=" + t_old))
        assert handshake_status(g, "/c?token=" + t_new)[0] == 401
        path.write_bytes(pem(new))
        g.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP: reloaded" in g.log(), timeout=5, what="the reload")
        assert handshake_status(g, "/c?token=" + t_new)[0] == 101
        assert handshake_status(g, "/c?token=" + t_old)[0] == 401
        assert await call(ws, {"cmd": "ping", "id": 1, "data": 1}) == {"cmd": "ping", "id": 1, "data": 1}
        await ws.close()
    run(main())


def test_with_a_hook_too_the_hook_sees_the_claims_and_has_the_last_word(gateway_factory, backend):
    mod = module(backend)
    mod["handshake"] = backend.url("/hook/accept")
    g = gateway_factory(config={"listen": "127.0.0.1:0", "modules": [mod]})

    async def main():
        # A bad token never reaches the hook.
        assert handshake_status(g, "/c?token=" + token(aud="billing"))[0] == 401
        assert not backend.records(path="/hook/accept")
        ws = await ws_connect(g.url("/c?token=" + token()))
        assert json.loads(await ws.recv()) == {"welcome": True}
        hook = backend.records(path="/hook/accept")[-1]
        claims = json.loads(hook["body"])["claims"]
        assert claims["sub"] == "alice" and claims["rooms"] == ["lobby", "red"] and claims["aud"] == "chat"
        headers = (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]
        assert headers["gateway-user"] == "u-anon", "the hook's Gateway-Set-User wins over sub"
        await ws.close()
    run(main())
