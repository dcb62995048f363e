"""SIGTERM drains gracefully (DESIGN §6): accepting stops, in-flight calls finish and are answered,
clients get close 1001, disconnect hooks are delivered, exit code 0."""
import asyncio
import json
import socket
import struct
import time

import pytest
import websockets

from helpers import (BufferedSock, RawWS, handshake_request, read_http_response_file, recv_json, run, wait_until,
                     ws_connect)


def _new_handshake_fails(port):
    """True if a new WebSocket handshake does not succeed (refused, reset, closed or non-101)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(handshake_request("/ws"))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return True
                data += chunk
            return not data.startswith(b"HTTP/1.1 101")
    except OSError:  # refused, reset, timed out
        return True


@pytest.mark.parametrize("hook", ["/disconnect", "/disconnect-flaky/2"])
def test_sigterm_drain(gateway_factory, backend, hook):
    g = gateway_factory(modules=[backend.module(disconnect=backend.url(hook))])

    async def main():
        async with ws_connect(g.url()) as idle_client, ws_connect(g.url()) as ws:
            await idle_client.send('{"cmd":"headers","data":{}}')
            idle_conn = (await recv_json(idle_client))["data"]["headers"]["gateway-connection-id"]
            await ws.send('{"cmd":"slow1000","id":"d1","data":{"k":1}}')
            rec = (await asyncio.get_running_loop().run_in_executor(
                None, lambda: backend.wait_records(1, path="/slow/1000")))[0]
            conn = next(v for k, v in rec["headers"] if k.lower() == "gateway-connection-id")
            t_term = time.monotonic()
            g.sigterm()
            # Accepting stops while the call is still in flight.
            refused = await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_until(lambda: _new_handshake_fails(g.port), timeout=0.8,
                                         what="new handshakes to be refused after SIGTERM"))
            assert refused
            # The in-flight call is answered...
            reply = await recv_json(ws, timeout=5)
            assert reply == {"cmd": "slow1000", "id": "d1", "data": {"ok": True}}
            assert time.monotonic() - t_term < 1.5
            # ...then the close frame with 1001.
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), 5)
            assert e.value.rcvd is not None and e.value.rcvd.code == 1001, e.value
            # An idle client is told 1001 as well.
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(idle_client.recv(), 5)
            assert e.value.rcvd is not None and e.value.rcvd.code == 1001, e.value
            return conn, idle_conn

    conn, idle_conn = run(main())
    rc = g.proc.wait(15)
    assert rc == 0, f"gateway exited with {rc}"
    # Both disconnect hooks were delivered before the process exited (the backend recorded them).
    ds = backend.disconnects()
    for c in (conn, idle_conn):
        mine = [d for d in ds if d.get("connectionId") == c]
        assert len(mine) == 1, ds
        assert mine[0]["code"] == 1001


def test_sigterm_with_no_clients_exits_promptly(gateway):
    t0 = time.monotonic()
    g = gateway
    g.sigterm()
    assert g.proc.wait(15) == 0
    assert time.monotonic() - t0 < 2.0


def test_sigterm_during_pending_post_command(gateway, backend):
    """A plain-HTTP command in flight at SIGTERM is answered too."""
    g = gateway
    body = b'{"cmd":"slow500","id":1,"data":{}}'
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        backend.wait_records(1, path="/slow/500")
        g.sigterm()
        f = BufferedSock(s)
        status, _, resp = read_http_response_file(f)
    assert status == 200
    assert json.loads(resp) == {"cmd": "slow500", "id": 1, "data": {"ok": True}}
    assert g.proc.wait(15) == 0


def test_sigterm_answers_every_pipelined_call(gateway, backend):
    """Three calls in flight at SIGTERM: all three replies, in order, then 1001."""
    g = gateway

    async def main():
        async with ws_connect(g.url()) as ws:
            for i in range(3):
                await ws.send(json.dumps({"cmd": "slow500", "id": i, "data": {}}))
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: backend.wait_records(3, path="/slow/500"))
            g.sigterm()
            for i in range(3):
                assert await recv_json(ws, 5) == {"cmd": "slow500", "id": i, "data": {"ok": True}}
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), 5)
            assert e.value.rcvd is not None and e.value.rcvd.code == 1001
    run(main())
    assert g.proc.wait(15) == 0


def test_sigterm_with_unresponsive_client(gateway_factory, backend):
    """A client that never answers the close frame does not hold the exit beyond the close timeout."""
    g = gateway_factory(limits={"closeTimeoutSeconds": 1},
                        modules=[backend.module(disconnect=backend.url("/disconnect"))])
    c = RawWS(g.port)
    try:
        t0 = time.monotonic()
        g.sigterm()
        fin, op, payload = c.recv_frame(timeout=5)
        assert op == 0x8 and struct.unpack("!H", payload[:2])[0] == 1001
        assert g.proc.wait(15) == 0
        assert time.monotonic() - t0 < 4.0
    finally:
        c.close()
    ds = backend.disconnects()
    assert len(ds) == 1 and ds[0]["code"] == 1001, ds
