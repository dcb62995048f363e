"""The admin API against its contract, docs/admin-api.openapi.json (DESIGN §5).

Every operation in the document is called for real, once for each documented status this test can
provoke, and each response is checked against the document: the status is documented for that
operation, the Content-Type is the documented media type, and the body validates (jsonschema) against
the documented schema, with `$ref`s resolved against the document's components and OpenAPI's
`nullable: true` turned into JSON Schema's `"null"` type. Request bodies are checked against the
documented request schemas too: bodies the server accepts must be valid, bodies it rejects with 400
must be invalid. At the end every path+method+status of the document must have been exercised, so the
document and the server cannot drift apart silently. Undocumented paths give 404, undocumented methods
on documented paths 405.
"""
import asyncio
import copy
import http.client
import json
import os
import urllib.parse

import jsonschema
import pytest

from helpers import ADMIN_TOKEN, REPO, call, expect_closed, recv_json, run, wait_until, ws_connect

SPEC_PATH = os.path.join(REPO, "docs", "admin-api.openapi.json")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# A well-formed id (26 hex digits, loop 00) that no connection has.
MISSING_ID = "00ffffffffffffffffffffffff"


def load_spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return json.load(f)


def openapi_to_jsonschema(node, components, seen=()):
    """A JSON Schema (draft 4 vocabulary) for an OpenAPI 3.0 schema object: `$ref`s to
    `#/components/schemas/X` are inlined, `nullable: true` becomes a `"null"` type (and `null` in an
    `enum`), and OpenAPI-only keywords (`description`, `example`, ...) are kept, being annotations."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(x, components, seen) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix), f"unsupported $ref {ref!r}"
        name = ref[len(prefix):]
        assert name in components, f"dangling $ref {ref!r}"
        assert name not in seen, f"recursive $ref {ref!r}"
        return openapi_to_jsonschema(components[name], components, seen + (name,))
    out = {k: openapi_to_jsonschema(v, components, seen) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list) and "null" not in t:
            out["type"] = t + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
        if "type" not in out and ("anyOf" in out or "oneOf" in out or "allOf" in out):
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def validator(schema, components):
    s = openapi_to_jsonschema(schema, components)
    jsonschema.Draft4Validator.check_schema(s)
    return jsonschema.Draft4Validator(s)


def test_schema_conversion_handles_nullable_and_refs():
    """The conversion itself: a nullable field accepts null only after conversion, refs resolve."""
    spec = load_spec()
    comps = spec["components"]["schemas"]
    conn = {"id": "a", "loop": 0, "path": "/ws", "user": None, "rooms": [], "remoteAddress": "127.0.0.1",
            "connectedMs": 1, "queuedBytes": 0, "inflight": 0}
    v = validator({"$ref": "#/components/schemas/ConnectionList"}, comps)
    assert not list(v.iter_errors({"count": 1, "connections": [conn]}))
    # Without the conversion the same document rejects `"user": null` (so the conversion matters).
    raw = copy.deepcopy(comps["Connection"])
    assert list(jsonschema.Draft4Validator(raw).iter_errors(conn))
    # And the converted schema still rejects wrong types.
    assert list(v.iter_errors({"count": 1, "connections": [dict(conn, user=5)]}))
    with pytest.raises(AssertionError):
        openapi_to_jsonschema({"$ref": "#/components/schemas/Nope"}, comps)


class Contract:
    """Calls the admin API and checks each response against the OpenAPI document."""

    def __init__(self, gw, spec):
        self.gw = gw
        self.spec = spec
        self.components = spec["components"]["schemas"]
        self.covered = set()   # (template, method, status)
        self.global_security = spec.get("security", [])

    def operation(self, template, method):
        path_item = self.spec["paths"].get(template)
        assert path_item is not None, f"{template} is not in the document"
        op = path_item.get(method.lower())
        assert op is not None, f"{method} {template} is not in the document"
        return op

    def needs_token(self, template, method):
        op = self.operation(template, method)
        return bool(op.get("security", self.global_security))

    def request_validator(self, template, method):
        rb = self.operation(template, method).get("requestBody")
        assert rb is not None, f"{method} {template} documents no request body"
        return validator(rb["content"]["application/json"]["schema"], self.components)

    def check_request_body(self, template, method, body, valid):
        """Documents agree with the server: `valid` bodies are accepted by the schema, others not."""
        if body is None:
            rb = self.operation(template, method).get("requestBody", {})
            assert valid != rb.get("required", False), \
                f"{method} {template}: an empty body is {'accepted' if valid else 'rejected'} by the server " \
                f"but the document says requestBody.required={rb.get('required', False)}"
            return
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                assert not valid, f"{method} {template}: the server accepted non-JSON {body!r}"
                return
        errors = list(self.request_validator(template, method).iter_errors(body))
        if valid:
            assert not errors, f"{method} {template}: the server accepted {body!r}, the document rejects it: " \
                               f"{[e.message for e in errors]}"
        else:
            assert errors, f"{method} {template}: the server rejected {body!r} with 400, the document allows it"

    def call(self, method, template, expect, params=None, query=None, body=None, token=ADMIN_TOKEN):
        """Makes the request; checks status, media type and body against the document. Returns the
        parsed body (JSON) or text."""
        path = template
        for k, v in (params or {}).items():
            path = path.replace("{" + k + "}", urllib.parse.quote(v, safe=""))
        if query:
            path += "?" + urllib.parse.urlencode(query)
        status, headers, data = self.gw.admin(method, path, body, token=token)
        assert status == expect, f"{method} {path}: expected {expect}, got {status}: {data[:300]!r}"
        op = self.operation(template, method)
        documented = op["responses"].get(str(status))
        assert documented is not None, \
            f"{method} {template} answered {status}, which the document does not list " \
            f"(documented: {sorted(op['responses'])})"
        content = documented.get("content", {})
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        assert ctype in content, f"{method} {path} -> {status}: Content-Type {ctype!r}, documented {sorted(content)}"
        schema = content[ctype].get("schema")
        if ctype == "application/json":
            parsed = json.loads(data)
        else:
            parsed = data.decode("utf-8")
        if schema is not None:
            errors = sorted(validator(schema, self.components).iter_errors(parsed), key=lambda e: list(e.path))
            assert not errors, f"{method} {path} -> {status}: body does not match the document: " + \
                "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors) + f"\nbody: {data[:500]!r}"
        self.covered.add((template, method.lower(), status))
        return parsed

    def documented(self):
        out = set()
        for template, item in self.spec["paths"].items():
            for method, op in item.items():
                if method in HTTP_METHODS:
                    for status in op["responses"]:
                        out.add((template, method, int(status)))
        return out


def _modules(backend):
    routes = {"headers": backend.url("/headers"), "slow2000": backend.url("/slow/2000"), "x": backend.url("/echo"),
              "up": {"upstream": "echo", "path": "/echo"}}
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept")},
    ]


def _upstreams(backend):
    return {"echo": {"endpoints": [backend.url("")], "circuitBreaker": {}}}


async def _conn_id(ws):
    return (await call(ws, {"cmd": "headers", "data": {}}))["data"]["headers"]["gateway-connection-id"]


def test_admin_api_matches_openapi_document(gateway_factory, backend):
    spec = load_spec()
    g = gateway_factory(modules=_modules(backend), admin=True, upstreams=_upstreams(backend))
    c = Contract(g, spec)

    async def in_thread(fn):
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def main():
        async with ws_connect(g.url("/hooked?user=oas")) as hooked, ws_connect(g.url()) as plain:
            assert await recv_json(hooked) == {"welcome": True}
            hid, pid = await _conn_id(hooked), await _conn_id(plain)
            assert (await call(plain, {"cmd": "up", "data": {"u": 1}}))["data"] == {"u": 1}

            def sync_part():
                # --- security: 401 where a token is required, 200 without one where it is not.
                for template, item in spec["paths"].items():
                    for method in item:
                        if method not in HTTP_METHODS:
                            continue
                        params = {"id": hid} if "{id}" in template else None
                        if c.needs_token(template, method):
                            for token in (None, "not-the-token-0123456789"):
                                c.call(method.upper(), template, 401, params=params,
                                       body={} if method == "post" else None, token=token)
                        else:
                            c.call(method.upper(), template, 200, params=params, token=None)

                # --- GET /v1/connections (user null and a string, rooms, loop)
                listing = c.call("GET", "/v1/connections", 200)
                assert sorted(x["id"] for x in listing["connections"]) == sorted([hid, pid])
                assert listing["count"] == 2
                by_id = {x["id"]: x for x in listing["connections"]}
                assert by_id[pid]["user"] is None and by_id[hid]["user"] == "u-oas"
                assert c.call("GET", "/v1/connections", 200, query={"room": "lobby"})["count"] == 1
                assert c.call("GET", "/v1/connections", 200, query={"user": "u-oas"})["connections"][0]["id"] == hid
                assert c.call("GET", "/v1/connections", 200, query={"room": "no-such-room"}) == \
                    {"count": 0, "connections": []}
                assert c.call("GET", "/v1/connections", 200, query={"room": "lobby", "user": "u-oas"})["count"] == 1
                assert c.call("GET", "/v1/connections", 200, query={"room": "lobby", "user": "u-x"})["count"] == 0

                # --- GET /v1/connections/{id}
                one = c.call("GET", "/v1/connections/{id}", 200, params={"id": hid})
                assert one == dict(one, id=hid, user="u-oas", path="/hooked")
                assert c.call("GET", "/v1/connections/{id}", 200, params={"id": pid})["user"] is None
                c.call("GET", "/v1/connections/{id}", 404, params={"id": MISSING_ID})
                c.call("GET", "/v1/connections/{id}", 404, params={"id": "not-an-id"})

                # --- POST /v1/publish
                for body in ({"to": {"all": True}, "cmd": "n", "data": {"k": [1, None]}},
                             {"to": {"room": "lobby"}, "cmd": "n"},
                             {"to": {"user": "u-oas"}, "except": [pid], "cmd": "n", "data": "s"},
                             {"to": {"connections": [pid]}, "cmd": "n", "data": 1}):
                    c.check_request_body("/v1/publish", "post", body, valid=True)
                    c.call("POST", "/v1/publish", 200, body=body)
                for body in ("{not json", [], {"cmd": "x"}, {"to": {"all": True}}, {"to": {"all": False}, "cmd": "x"},
                             {"to": {"all": True}, "cmd": ""}, {"to": {"room": ""}, "cmd": "x"},
                             {"to": {"all": True, "room": "r"}, "cmd": "x"}, {"to": {"connections": []}, "cmd": "x"},
                             {"to": {"connections": [1]}, "cmd": "x"}, {"to": {"all": True}, "cmd": "x", "except": "a"},
                             {"to": {"all": True}, "cmd": "x", "extra": 1}):
                    c.check_request_body("/v1/publish", "post", body, valid=False)
                    c.call("POST", "/v1/publish", 400, body=body if isinstance(body, str) else json.dumps(body))

                # --- POST /v1/connections/{id}/rooms
                body = {"join": ["oas-a", "oas-b"], "leave": ["news"]}
                c.check_request_body("/v1/connections/{id}/rooms", "post", body, valid=True)
                rooms = c.call("POST", "/v1/connections/{id}/rooms", 200, params={"id": hid}, body=body)
                assert sorted(rooms["rooms"]) == ["lobby", "oas-a", "oas-b"]
                # Room names are any strings; the query parameter is percent-decoded.
                odd = "sp ace/ü&x=1"
                assert odd in c.call("POST", "/v1/connections/{id}/rooms", 200, params={"id": pid},
                                     body={"join": [odd]})["rooms"]
                listed = c.call("GET", "/v1/connections", 200, query={"room": odd})["connections"]
                assert [x["id"] for x in listed] == [pid]
                assert c.call("POST", "/v1/connections/{id}/rooms", 200, params={"id": pid},
                              body={"leave": [odd]})["rooms"] == []
                c.check_request_body("/v1/connections/{id}/rooms", "post", {}, valid=True)
                assert sorted(c.call("POST", "/v1/connections/{id}/rooms", 200, params={"id": hid},
                                     body={})["rooms"]) == ["lobby", "oas-a", "oas-b"]
                for body in ("nope", {"join": "a"}, {"join": [""]}, {"leave": [3]}, {"rooms": ["a"]}):
                    c.check_request_body("/v1/connections/{id}/rooms", "post", body, valid=False)
                    c.call("POST", "/v1/connections/{id}/rooms", 400, params={"id": hid},
                           body=body if isinstance(body, str) else json.dumps(body))
                c.call("POST", "/v1/connections/{id}/rooms", 404, params={"id": MISSING_ID}, body={"join": ["a"]})

                # --- GET /v1/stats and /metrics
                stats = c.call("GET", "/v1/stats", 200)
                assert stats["engine"] == g.engine and stats["draining"] is False
                assert stats["connections"]["websockets"] == 2
                # --- GET /v1/cluster: without `cluster`, one node and no Redis (test_cluster_nodes.py
                # checks the cluster form against the same schema).
                assert c.call("GET", "/v1/cluster", 200) == {"node": None, "nodes": [], "redis": []}
                # --- GET /v1/upstreams: the group with the calls made through it.
                ups = c.call("GET", "/v1/upstreams", 200)["upstreams"]
                assert [u["name"] for u in ups] == ["echo"] and ups[0]["endpoints"][0]["calls"] == 1, ups
                assert ups[0]["endpoints"][0]["breaker"] == "closed"
                metrics = c.call("GET", "/metrics", 200)
                assert "# TYPE" in metrics
                # --- the dashboard page (no token) and its stream's refusal (the stream itself:
                # test_dashboard.py, since its 200 never ends)
                assert "<title>gateway dashboard</title>" in c.call("GET", "/dashboard", 200, token=None)
                c.call("GET", "/v1/stream", 401, token=None)

                # --- POST /v1/connections/{id}/close
                for body in ({"code": 1234}, {"code": 5000}, {"code": "4000"}, {"reason": 7},
                             {"reason": "r" * 124}, {"code": 4000, "why": "x"}, "not json"):
                    c.check_request_body("/v1/connections/{id}/close", "post", body, valid=False)
                    c.call("POST", "/v1/connections/{id}/close", 400, params={"id": pid},
                           body=body if isinstance(body, str) else json.dumps(body))
                c.call("POST", "/v1/connections/{id}/close", 404, params={"id": MISSING_ID}, body={"code": 4000})
                body = {"code": 4000, "reason": "r" * 123}
                c.check_request_body("/v1/connections/{id}/close", "post", body, valid=True)
                assert c.call("POST", "/v1/connections/{id}/close", 200, params={"id": hid}, body=body) == \
                    {"closed": True}
                # No body at all: the document says the body is optional (default code 1000).
                c.check_request_body("/v1/connections/{id}/close", "post", None, valid=True)
                assert c.call("POST", "/v1/connections/{id}/close", 200, params={"id": pid}) == {"closed": True}

            await in_thread(sync_part)
            assert await expect_closed(hooked) == 4000
            assert hooked.close_reason == "r" * 123
            assert await expect_closed(plain) == 1000

        # --- /readyz 503 while draining: hold the drain open with a call in flight.
        async with ws_connect(g.url()) as ws:
            await ws.send('{"cmd":"slow2000","id":1,"data":{}}')
            await in_thread(lambda: backend.wait_records(1, path="/slow/2000"))
            c.call("GET", "/readyz", 200, token=None)
            g.sigterm()

            def draining():
                try:
                    return g.admin("GET", "/readyz", token=None, timeout=1)[0] == 503
                except OSError:
                    return False
            await in_thread(lambda: wait_until(draining, timeout=1.5, what="/readyz to say 503"))
            body = await in_thread(lambda: c.call("GET", "/readyz", 503, token=None))
            assert body == {"status": "draining"}
            stats = await in_thread(lambda: c.call("GET", "/v1/stats", 200))
            assert stats["draining"] is True
            assert await recv_json(ws) == {"cmd": "slow2000", "id": 1, "data": {"ok": True}}

    run(main())
    assert g.proc.wait(15) == 0
    # Answers only a cluster gives are exercised, against this same document, in test_cluster_presence.py.
    cluster_only = {("/v1/connections/{id}", "get", 503)}
    streamed = {("/v1/stream", "get", 200)}   # test_dashboard.py reads it
    missing = sorted(c.documented() - c.covered - cluster_only - streamed)
    assert not missing, f"documented but never exercised (document and test drifted apart): {missing}"
    extra = sorted(c.covered - c.documented())
    assert not extra, f"exercised but not documented: {extra}"


def test_undocumented_paths_404_and_methods_405(gateway_factory, backend):
    spec = load_spec()
    g = gateway_factory(modules=_modules(backend), admin=True, upstreams=_upstreams(backend))
    for path in ("/", "/v1", "/v2/stats", "/v1/stat", "/v1/publishes", "/v1/connections/abc/kick",
                 "/v1/connections/abc/rooms/x", "/metrics/x", "/healthz/x", "/v1/stats/x"):
        assert path not in spec["paths"]
        status, _, body = g.admin("GET", path)
        assert status == 404, (path, status, body)
        status, _, body = g.admin("POST", path, body="{}")
        assert status == 404, ("POST", path, status, body)

    checked = 0
    for template, item in spec["paths"].items():
        path = template.replace("{id}", MISSING_ID)
        for method in HTTP_METHODS:
            if method in item:
                continue
            status, _, body = g.admin(method.upper(), path, body="{}" if method in ("post", "put", "patch") else None)
            assert status == 405, f"{method.upper()} {path}: expected 405, got {status} {body[:200]!r}"
            checked += 1
    assert checked >= 30
    # Still serving normally afterwards, on a keep-alive connection too.
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=5)
    try:
        for _ in range(3):
            conn.request("DELETE", "/v1/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            r = conn.getresponse()
            r.read()
            assert r.status == 405
            conn.request("GET", "/v1/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())["engine"] == g.engine
    finally:
        conn.close()
