"""Messages through a real backend (DESIGN §3 json format, §4 backend protocol) and the local echo."""
import asyncio
import base64
import json

from backend import BAD_JSON_BODY, TEXT_BODY
from helpers import TRACEPARENT_RE, call, recv_json, run, ws_connect


def _header(rec, name):
    vals = [v for k, v in rec["headers"] if k.lower() == name.lower()]
    return vals


def test_reply_envelope_from_backend(gateway, backend):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            reply = await call(ws, {"cmd": "x", "id": "42", "data": {"a": 1, "b": [1, 2, "three"]}})
            assert reply == {"cmd": "x", "id": "42", "data": {"a": 1, "b": [1, 2, "three"]}}
    run(main())
    recs = backend.records(path="/echo")
    assert len(recs) == 1
    rec = recs[0]
    assert rec["method"] == "POST"
    assert _header(rec, "Gateway-Command") == ["x"]
    assert len(_header(rec, "Gateway-Connection-Id")) == 1 and _header(rec, "Gateway-Connection-Id")[0]
    assert len(_header(rec, "Gateway-Request-Id")) == 1 and _header(rec, "Gateway-Request-Id")[0]
    tp = _header(rec, "traceparent")
    assert len(tp) == 1 and TRACEPARENT_RE.match(tp[0]), tp
    ct = _header(rec, "Content-Type")
    assert ct and ct[0].split(";")[0].strip() == "application/json"


def test_numeric_id_and_missing_id(gateway):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            raw = await _raw_call(ws, '{"cmd":"x","id":42,"data":{"n":1}}')
            reply = json.loads(raw)
            assert reply == {"cmd": "x", "id": 42, "data": {"n": 1}}
            assert isinstance(reply["id"], int)
            # A fractional / negative number is echoed back as the same number too.
            reply = json.loads(await _raw_call(ws, '{"cmd":"x","id":-7.5,"data":[]}'))
            assert reply == {"cmd": "x", "id": -7.5, "data": []}
            # No id: none comes back.
            reply = json.loads(await _raw_call(ws, '{"cmd":"x","data":"plain"}'))
            assert reply == {"cmd": "x", "data": "plain"}
    run(main())


async def _raw_call(ws, text, timeout=5):
    await ws.send(text)
    msg = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(msg, str)
    return msg


def test_data_bytes_forwarded_exactly(gateway, backend):
    """`data` reaches the backend as the exact bytes the client sent (odd whitespace, key order,
    escapes, non-ASCII), and the JSON backend body is inserted into the reply as it is."""
    data = '{ "b" :  1 ,\n\t"a":[ 1,2 ,{"z":null}] , "s":"caf\\u00e9 \u00e9\\n\\"q\\"", "e":1E+2 }'
    envelope = '{"id":"7",  "data":' + data + ' ,"cmd":"x"}'

    async def main():
        async with ws_connect(gateway.url()) as ws:
            raw = await _raw_call(ws, envelope)
            assert data in raw, f"backend body not inserted as-is: {raw!r}"
            assert json.loads(raw) == {"cmd": "x", "id": "7", "data": json.loads(data)}
    run(main())
    recs = backend.records(path="/echo")
    assert len(recs) == 1
    assert base64.b64decode(recs[0]["body_b64"]) == data.encode("utf-8")


def test_scalar_and_string_data(gateway, backend):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            for data in ['"just a string"', "12345", "true", "null", "[]", '"\\u0000 nul"']:
                raw = await _raw_call(ws, '{"cmd":"x","id":1,"data":' + data + "}")
                assert json.loads(raw) == {"cmd": "x", "id": 1, "data": json.loads(data)}, raw
    run(main())
    bodies = [base64.b64decode(r["body_b64"]) for r in backend.records(path="/echo")]
    assert bodies == [b'"just a string"', b"12345", b"true", b"null", b"[]", b'"\\u0000 nul"']


def test_non_json_body_becomes_string(gateway):
    async def main():
        async with ws_connect(gateway.url()) as ws:
            reply = await call(ws, {"cmd": "text", "id": "t1", "data": {}})
            assert reply == {"cmd": "text", "id": "t1", "data": TEXT_BODY.decode()}
            # Content-Type says JSON but the body is not JSON: still a valid reply, with a string.
            reply = await call(ws, {"cmd": "badjson", "id": "t2", "data": {}})
            assert reply == {"cmd": "badjson", "id": "t2", "data": BAD_JSON_BODY.decode()}
    run(main())


def test_large_backend_reply(gateway):
    """A 300 kB backend body comes back intact (multi-fragment socket writes, 64-bit frame length)."""
    async def main():
        async with ws_connect(gateway.url()) as ws:
            reply = await call(ws, {"cmd": "big", "id": 1, "data": {}}, timeout=10)
            assert reply["id"] == 1 and reply["cmd"] == "big"
            assert reply["data"] == "x" * 300000
    run(main())


def test_oversized_backend_reply_is_backend_error(gateway_factory, backend):
    g = gateway_factory(limits={"maxBackendResponseBytes": 1000})

    async def main():
        async with ws_connect(g.url()) as ws:
            reply = await call(ws, {"cmd": "huge", "id": 1, "data": {}})
            assert reply["error"]["code"] == "backend_error", reply
            assert reply["id"] == 1
            assert await call(ws, {"cmd": "x", "id": 2, "data": 5}) == {"cmd": "x", "id": 2, "data": 5}
    run(main())


def test_local_echo(gateway, backend):
    data = '{"x":[1, 2], "y" : "z"}'

    async def main():
        async with ws_connect(gateway.url()) as ws:
            raw = await _raw_call(ws, '{"cmd":"local","id":"e1","data":' + data + "}")
            assert json.loads(raw) == {"cmd": "local", "id": "e1", "data": {"x": [1, 2], "y": "z"}}
            assert data in raw
            reply = json.loads(await _raw_call(ws, '{"cmd":"local","id":2,"data":"s"}'))
            assert reply == {"cmd": "local", "id": 2, "data": "s"}
    run(main())
    assert backend.records() == [], "the local echo must not call any backend"


def test_message_before_first_reply_and_pipelining(gateway):
    """A client may send right after the handshake, several messages back to back in one go."""
    async def main():
        async with ws_connect(gateway.url()) as ws:
            for i in range(5):
                await ws.send(json.dumps({"cmd": "x", "id": i, "data": {"i": i}}))
            for i in range(5):
                assert await recv_json(ws) == {"cmd": "x", "id": i, "data": {"i": i}}
    run(main())
