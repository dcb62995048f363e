"""Whatever ends a WebSocket session, the gateway forgets it completely (DESIGN §1 "close ─► disconnect
hook ─► connection removed from the session manager, rooms and user index"): it leaves
`/v1/connections`, its rooms (joined by the handshake hook and through the admin API) and its user
disappear from the indexes and from `/v1/stats`, and the disconnect hook reports the close code of
that cause (README "Disconnect hook")."""
import asyncio
import json

import pytest

from helpers import OP_TEXT, RawWS, call, expect_closed, recv_json, run, wait_until, ws_connect

USER = "u-vic"
ROOMS = ["extra", "lobby", "news"]
# cause -> (close code in the disconnect hook, its reason or None when the contract does not fix it)
CAUSES = {
    "client_close": (4005, "client bye"),
    "tcp_reset": (1006, None),
    "protocol_error": (1002, None),
    "idle_timeout": (1001, "idle timeout"),
    "admin_close": (4100, "kicked by admin"),
    "gateway_close_header": (4000, "bye now"),
    "sigterm": (1001, "server shutting down"),
}


def _modules(backend):
    routes = {
        "headers": backend.url("/headers"),
        "slow2000": backend.url("/slow/2000"),
        "kick": backend.url("/respond?" + "h=Gateway-Close%3A%204000%20bye%20now&body=%7B%22kicked%22%3Atrue%7D"),
    }
    return [
        {"path": "/ws", "parser": "json", "routes": routes},
        {"path": "/hooked", "parser": "json", "routes": routes, "handshake": backend.url("/hook/accept"),
         "disconnect": backend.url("/disconnect")},
    ]


def _raw_close_code(raw, timeout=6):
    """Reads until the server's close frame (not answering pings), answers it like a well-behaved client
    (close frame, then close TCP once the server has); returns (code, reason)."""
    code, reason, _ = raw.recv_until_close(timeout)
    if code is not None:
        try:
            raw.close_frame(code if code not in (1005, 1006) else 1000)
            raw.wait_eof(3)
        except OSError:
            pass
    raw.close()
    return code, reason


@pytest.mark.parametrize("cause", list(CAUSES))
def test_session_cleanup(gateway_factory, backend, cause):
    limits = {"idleTimeoutSeconds": 2, "pingIntervalSeconds": 1} if cause == "idle_timeout" else None
    g = gateway_factory(modules=_modules(backend), admin=True, limits=limits)
    code, reason = CAUSES[cause]
    raw_client = cause in ("protocol_error", "idle_timeout", "tcp_reset")

    def admin(method, path, body=None):
        st, _, data = g.admin(method, path, body, timeout=2)
        return st, (json.loads(data) if data else None)

    def index_state(cid):
        st, _ = admin("GET", f"/v1/connections/{cid}")
        counts = {q: admin("GET", f"/v1/connections?{q}")[1]["count"]
                  for q in ("room=lobby", "room=news", "room=extra", f"user={USER}")}
        stats = admin("GET", "/v1/stats")[1]
        return st, counts, stats["rooms"], stats["users"]

    async def in_thread(fn):
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def main():
        async with ws_connect(g.url()) as bystander:
            await call(bystander, {"cmd": "headers", "data": {}})
            if raw_client:
                victim = await in_thread(lambda: RawWS(g.port, "/hooked?user=vic"))
                fin, op, payload = await in_thread(lambda: victim.recv_frame(5))
                assert (op, json.loads(payload)) == (OP_TEXT, {"welcome": True})
            else:
                victim = await ws_connect(g.url("/hooked?user=vic"))
                assert await recv_json(victim) == {"welcome": True}
            try:
                listed = (await in_thread(lambda: admin("GET", f"/v1/connections?user={USER}")))[1]
                assert listed["count"] == 1
                cid = listed["connections"][0]["id"]
                st, body = await in_thread(lambda: admin("POST", f"/v1/connections/{cid}/rooms", {"join": ["extra"]}))
                assert st == 200 and sorted(body["rooms"]) == ROOMS
                before = await in_thread(lambda: index_state(cid))
                expected = {"room=lobby": 1, "room=news": 1, "room=extra": 1, f"user={USER}": 1}
                assert before == (200, expected, 3, 1), before

                seen_code = None
                if cause == "client_close":
                    await victim.close(code=4005, reason="client bye")
                elif cause == "tcp_reset":
                    victim.abort(rst=True)   # gone without a close frame
                elif cause == "protocol_error":
                    victim.send_frame(0x3, b"")   # a reserved opcode
                    seen_code, _ = await in_thread(lambda: _raw_close_code(victim))
                elif cause == "idle_timeout":
                    seen_code, seen_reason = await in_thread(lambda: _raw_close_code(victim))
                    assert seen_reason == b"idle timeout"
                elif cause == "admin_close":
                    st, body = await in_thread(lambda: admin("POST", f"/v1/connections/{cid}/close",
                                                             {"code": 4100, "reason": "kicked by admin"}))
                    assert (st, body) == (200, {"closed": True})
                    seen_code = await expect_closed(victim)
                elif cause == "gateway_close_header":
                    assert await call(victim, {"cmd": "kick", "id": 1, "data": {}}) == \
                        {"cmd": "kick", "id": 1, "data": {"kicked": True}}
                    seen_code = await expect_closed(victim)
                elif cause == "sigterm":
                    # A call in flight on the bystander keeps the drain (and the admin API) up for ~2 s.
                    await bystander.send('{"cmd":"slow2000","id":"s","data":{}}')
                    await in_thread(lambda: backend.wait_records(1, path="/slow/2000"))
                    g.sigterm()
                    seen_code = await expect_closed(victim)
                if cause not in ("client_close", "tcp_reset"):
                    assert seen_code == code, f"{cause}: the client saw close code {seen_code}, expected {code}"

                def forgotten():
                    st, counts, rooms, users = index_state(cid)
                    return (st == 404 and not any(counts.values()) and rooms == 0 and users == 0) or None
                try:
                    await in_thread(lambda: wait_until(forgotten, timeout=1.5 if cause == "sigterm" else 8,
                                                       what=f"{cause}: the session to leave every index"))
                except AssertionError:
                    raise AssertionError(f"{cause}: still indexed: {index_state(cid)}")
                if cause == "sigterm":
                    assert await recv_json(bystander) == {"cmd": "slow2000", "id": "s", "data": {"ok": True}}
                else:
                    # The bystander is untouched.
                    listing = (await in_thread(lambda: admin("GET", "/v1/connections")))[1]
                    assert listing["count"] == 1 and listing["connections"][0]["user"] is None
                    assert (await call(bystander, {"cmd": "headers", "id": 9, "data": {}}))["id"] == 9
                return cid
            finally:
                if raw_client:
                    victim.close()
                else:
                    await victim.close()

    cid = run(main())
    d = backend.wait_disconnect(cid)
    assert d["code"] == code, f"{cause}: disconnect hook code {d['code']}, expected {code}: {d}"
    if reason is not None:
        assert d["reason"] == reason, d
    assert d["user"] == USER and sorted(d["rooms"]) == ROOMS, d
    assert [x["connectionId"] for x in backend.disconnects()].count(cid) == 1
    if cause == "sigterm":
        assert g.proc.wait(15) == 0
