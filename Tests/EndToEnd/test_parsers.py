"""The `text` and `raw` wire formats (DESIGN §3)."""
import asyncio
import base64

from backend import BINARY_BODY, TEXT_BODY
from helpers import run, ws_connect


def _modules(backend):
    return [
        {"path": "/text", "parser": "text", "routes": {
            "say": backend.url("/echo"),
            "t": backend.url("/text"),
            "bin": backend.url("/binary"),
            "st": backend.url("/status/500"),
            "j": backend.url("/slow/0"),
        }},
        {"path": "/raw", "parser": "raw", "command": "blob", "routes": {"blob": backend.url("/echo")}},
        {"path": "/rawbin", "parser": "raw", "command": "getbin", "routes": {"getbin": backend.url("/binary")}},
        {"path": "/rawdefault", "parser": "raw", "routes": {"message": backend.url("/echo")}},
    ]


async def _recv(ws, timeout=5):
    return await asyncio.wait_for(ws.recv(), timeout)


def test_text_parser(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/text")) as ws:
            await ws.send("say:hello world: with colons")
            assert await _recv(ws) == "say:hello world: with colons"
            await ws.send("t:anything")
            assert await _recv(ws) == "t:" + TEXT_BODY.decode()
            await ws.send("j:")
            assert await _recv(ws) == 'j:{"ok":true}'
            await ws.send("say:caf\u00e9 \u2603")
            assert await _recv(ws) == "say:caf\u00e9 \u2603"
    run(main())
    recs = backend.records(path="/echo")
    assert [base64.b64decode(r["body_b64"]) for r in recs] == [
        b"hello world: with colons", "caf\u00e9 \u2603".encode()]
    for r in recs:
        ct = {k.lower(): v for k, v in r["headers"]}.get("content-type", "")
        assert ct.split(";")[0].strip() == "text/plain", ct
        assert {k.lower(): v for k, v in r["headers"]}.get("gateway-command") == "say"


def test_text_parser_errors_keep_connection(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/text")) as ws:
            await ws.send("nosuch:body")
            err = await _recv(ws)
            assert isinstance(err, str) and "unknown_command" in err, err
            await ws.send("st:x")
            err = await _recv(ws)
            assert isinstance(err, str) and "backend_error" in err, err
            await ws.send("say:still here")
            assert await _recv(ws) == "say:still here"
    run(main())


def test_text_parser_invalid_utf8_backend_body(gateway_factory, backend):
    """A backend body that is not UTF-8 can't go out in a text frame: the client must get a valid
    frame (websockets fails the connection on invalid UTF-8 in a text frame) and the connection
    lives on."""
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/text")) as ws:
            await ws.send("bin:")
            got = await _recv(ws)
            assert got == b"bin:" + BINARY_BODY, got
            await ws.send("say:after")
            assert await _recv(ws) == "say:after"
    run(main())


def test_raw_parser_binary_and_text(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))
    payload = bytes(range(256)) + b"\xff\xfe\x00"

    async def main():
        async with ws_connect(g.url("/raw")) as ws:
            await ws.send(payload)
            got = await _recv(ws)
            assert isinstance(got, bytes), "a binary request must get a binary reply"
            assert got == payload
            await ws.send("plain text \u00e9")
            got = await _recv(ws)
            assert isinstance(got, str), "a text request with a UTF-8 reply must get a text reply"
            assert got == "plain text \u00e9"
            # Binary frame whose bytes happen to be valid UTF-8: still a binary reply.
            await ws.send(b"ascii bytes")
            got = await _recv(ws)
            assert got == b"ascii bytes"
    run(main())
    recs = backend.records(path="/echo")
    assert len(recs) == 3
    hdrs = [{k.lower(): v for k, v in r["headers"]} for r in recs]
    assert base64.b64decode(recs[0]["body_b64"]) == payload
    assert hdrs[0]["content-type"] == "application/octet-stream"
    assert hdrs[0]["gateway-command"] == "blob"
    assert base64.b64decode(recs[1]["body_b64"]) == "plain text \u00e9".encode()
    assert hdrs[1]["content-type"].split(";")[0] != "application/octet-stream"
    assert hdrs[2]["content-type"] == "application/octet-stream"


def test_raw_invalid_utf8_reply_to_text_request_is_binary(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/rawbin")) as ws:
            await ws.send("give me bytes")
            got = await _recv(ws)
            assert isinstance(got, bytes), f"expected a binary frame, got {got!r}"
            assert got == BINARY_BODY
            await ws.send(b"\x00")
            assert await _recv(ws) == BINARY_BODY
    run(main())
    recs = backend.records(path="/binary")
    assert [{k.lower(): v for k, v in r["headers"]}["gateway-command"] for r in recs] == ["getbin", "getbin"]


def test_raw_default_command_is_message(gateway_factory, backend):
    g = gateway_factory(modules=_modules(backend))

    async def main():
        async with ws_connect(g.url("/rawdefault")) as ws:
            await ws.send(b"abc")
            assert await _recv(ws) == b"abc"
    run(main())
    recs = backend.records(path="/echo")
    assert {k.lower(): v for k, v in recs[0]["headers"]}["gateway-command"] == "message"
