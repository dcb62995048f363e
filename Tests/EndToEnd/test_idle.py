"""Keep-alive pings and the idle timeout (limits.pingIntervalSeconds, limits.idleTimeoutSeconds)."""
import asyncio
import socket
import time

from helpers import OP_CLOSE, OP_PING, OP_PONG, RawWS, call, run, ws_connect

LIMITS = {"pingIntervalSeconds": 1, "idleTimeoutSeconds": 2}


def test_ping_then_idle_close_of_silent_client(gateway_factory):
    """A raw client that never answers receives a ping after ~1 s and is closed after ~2 s of silence,
    while a `websockets` client (which answers pings by itself) stays connected."""
    g = gateway_factory(limits=LIMITS)

    async def main():
        async with ws_connect(g.url()) as healthy:
            loop = asyncio.get_running_loop()

            def silent():
                c = RawWS(g.port)
                t0 = time.monotonic()
                try:
                    fin, op, payload = c.recv_frame(timeout=3)
                    t_ping = time.monotonic() - t0
                    assert op == OP_PING, f"expected a ping, got opcode {op}"
                    # Never answer. The gateway must give up on us.
                    deadline = time.monotonic() + 5
                    while True:
                        try:
                            fin, op, payload = c.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
                        except (EOFError, ConnectionResetError):
                            return t_ping, time.monotonic() - t0, None
                        if op == OP_CLOSE:
                            return t_ping, time.monotonic() - t0, payload
                        assert op == OP_PING, f"unexpected frame opcode {op}"
                finally:
                    c.close()

            t_ping, t_closed, close_payload = await loop.run_in_executor(None, silent)
            assert 0.5 <= t_ping <= 2.5, f"first ping after {t_ping:.2f}s (interval 1 s)"
            assert 1.5 <= t_closed <= 4.5, f"silent client closed after {t_closed:.2f}s (idle timeout 2 s)"
            # Meanwhile the healthy client (answering pings automatically) is still open and served.
            assert healthy.open
            assert await call(healthy, {"cmd": "x", "id": 1, "data": 1}) == {"cmd": "x", "id": 1, "data": 1}
    run(main())


def test_client_answering_pings_stays_open(gateway_factory):
    """A raw client that answers each ping with a pong is not closed by the idle timeout."""
    g = gateway_factory(limits=LIMITS)
    c = RawWS(g.port)
    try:
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 3.2:
            try:
                fin, op, payload = c.recv_frame(timeout=0.5)
            except socket.timeout:
                continue
            assert op == OP_PING, f"unexpected opcode {op} (closed?) after {time.monotonic() - t0:.2f}s"
            pings += 1
            c.send_frame(OP_PONG, payload)
        assert pings >= 2
        # Still usable.
        c.send_frame(0x1, b'{"cmd":"x","id":1,"data":1}')
        while True:
            fin, op, payload = c.recv_frame(timeout=3)
            if op == OP_PING:
                c.send_frame(OP_PONG, payload)
                continue
            assert op == 0x1 and payload == b'{"cmd":"x","id":1,"data":1}'
            break
    finally:
        c.close()
