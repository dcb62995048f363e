"""A real HTTP/2 backend for the end-to-end tests of `"protocol": "h2c"` and `"h2"` routes.

An asyncio server on the `h2` library (Debian's python3-h2), run on its own thread inside the test
process, so tests read what it recorded directly. Cleartext it speaks h2c with prior knowledge only
(an HTTP/1.1 request is a protocol error and closes the connection); with an SSL context it speaks h2
over TLS and offers only `h2` in ALPN. Every request is recorded with the connection it came on
(a counter per accepted TCP connection), so tests can count connections against calls.

Paths (any method):
  /echo              the request body back, with the request's content-type
  /headers           JSON {"headers": {name: value}} of the request (names as received: lower case)
  /info              JSON {"method", "path", "version": "2", "body"}
  /slow/<ms>         waits <ms>, then {"ok":true}
  /respond?h=name:value&...&body=B   200 with those response fields and body B ({} by default)
  /refuse-once       the first request (since clear()) gets RST_STREAM (REFUSED_STREAM), later ones 200
  /reset             RST_STREAM (INTERNAL_ERROR) on this stream, no response
  /goaway            response head and part of a body, then GOAWAY; the connection closes once its
                     other streams are answered (this one stays incomplete)
"""
import asyncio
import json
import threading
import urllib.parse

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hyperframe.frame


class H2Backend:
    def __init__(self, ssl_context=None, max_streams=None):
        self.ssl_context = ssl_context
        self.max_streams = max_streams   # SETTINGS_MAX_CONCURRENT_STREAMS to announce (None: h2's default)
        self.lock = threading.Lock()
        self.records = []          # {"conn", "method", "path", "headers", "body", "alpn"}
        self.connections = 0       # TCP connections accepted
        self.protocol_errors = 0   # connections closed because the peer did not speak HTTP/2
        self.refused = 0           # requests to /refuse-once so far
        self.refused_over_limit = 0  # streams refused past max_streams
        self.port = None
        self._loop = None
        self._server = None
        self._thread = None
        self._open = set()         # _Connection of every open connection (the server's thread only)

    # lifecycle ------------------------------------------------------------------------------

    def start(self):
        ready = threading.Event()

        def main():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context, backlog=256))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        assert ready.wait(10), "h2 backend did not start"
        return self

    def stop(self):
        """Closes the listener and every connection, ends their tasks, then the loop."""
        if self._loop is None:
            return

        async def shutdown():
            self._server.close()
            for state in list(self._open):
                state.writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def drop_connections(self, goaway=False):
        """Closes every open connection, as a server's idle timeout does: with a GOAWAY first, or not."""
        def drop():
            for state in list(self._open):
                if goaway:
                    state.conn.close_connection()
                    self._flush(state)
                state.closing = True
                state.writer.close()
        done = threading.Event()
        self._loop.call_soon_threadsafe(lambda: (drop(), done.set()))
        assert done.wait(5)

    def url(self, path):
        scheme = "https" if self.ssl_context else "http"
        host = "localhost" if self.ssl_context else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def clear(self):
        with self.lock:
            self.records.clear()
            self.connections = 0
            self.protocol_errors = 0
            self.refused = 0

    def snapshot(self, path=None):
        with self.lock:
            return [r for r in self.records if path is None or r["path"].split("?")[0] == path]

    # one connection -------------------------------------------------------------------------

    async def _serve(self, reader, writer):
        with self.lock:
            self.connections += 1
            conn_id = self.connections
        ssl_object = writer.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object else None
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        preface = conn.data_to_send()
        if self.max_streams is not None:
            # Announce the limit but enforce it here (below) the way nghttp2 and Go do, with REFUSED_STREAM
            # for the streams past it: h2 itself would drop the whole connection. So the SETTINGS frame
            # h2 wrote is rewritten with the limit, and h2 keeps its own (higher) one.
            frame, length = hyperframe.frame.Frame.parse_frame_header(memoryview(preface[:9]))
            frame.parse_body(memoryview(preface[9:9 + length]))
            frame.settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = self.max_streams
            preface = frame.serialize() + preface[9 + length:]
        writer.write(preface)
        state = _Connection(conn, writer)
        self._open.add(state)
        try:
            while not state.closing:
                data = await reader.read(65536)
                if not data:
                    break
                try:
                    events = conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    with self.lock:
                        self.protocol_errors += 1
                    writer.write(conn.data_to_send())
                    break
                for ev in events:
                    if isinstance(ev, h2.events.RequestReceived):
                        if self.max_streams is not None and len(state.streams) >= self.max_streams:
                            with self.lock:
                                self.refused_over_limit += 1
                            conn.reset_stream(ev.stream_id, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                            continue
                        state.streams[ev.stream_id] = {"headers": dict(ev.headers), "body": bytearray()}
                    elif isinstance(ev, h2.events.DataReceived):
                        s = state.streams.get(ev.stream_id)
                        if s is not None:
                            s["body"] += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        s = state.streams.get(ev.stream_id)
                        if s is not None:
                            self._record(conn_id, alpn, s)
                            state.tasks.add(asyncio.ensure_future(self._respond(state, ev.stream_id, s)))
                    elif isinstance(ev, h2.events.WindowUpdated):
                        state.window_open.set()
                    elif isinstance(ev, h2.events.StreamReset):
                        state.streams.pop(ev.stream_id, None)
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        state.closing = True
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(state)
            for t in state.tasks:
                t.cancel()
            writer.close()

    def _record(self, conn_id, alpn, s):
        h = s["headers"]
        with self.lock:
            self.records.append({"conn": conn_id, "alpn": alpn, "method": h.get(":method"), "path": h.get(":path"),
                                 "headers": {k: v for k, v in h.items() if not k.startswith(":")},
                                 "body": bytes(s["body"])})

    async def _respond(self, state, stream_id, s):
        conn = state.conn
        h = s["headers"]
        path, _, query = h.get(":path", "/").partition("?")
        q = urllib.parse.parse_qs(query)
        ctype = "application/json"
        fields = []
        if path == "/echo":
            body = bytes(s["body"])
            ctype = h.get("content-type", "application/octet-stream")
        elif path == "/headers":
            body = json.dumps({"headers": {k: v for k, v in h.items() if not k.startswith(":")}}).encode()
        elif path == "/info":
            body = json.dumps({"method": h.get(":method"), "path": h.get(":path"), "version": "2",
                               "body": bytes(s["body"]).decode("utf-8", "replace")}).encode()
        elif path.startswith("/slow/"):
            await asyncio.sleep(int(path[6:]) / 1000)
            body = b'{"ok":true}'
        elif path == "/respond":
            for item in q.get("h", []):
                name, _, value = item.partition(":")
                fields.append((name.lower(), value))
            body = q.get("body", ["{}"])[0].encode()
        elif path == "/refuse-once":
            with self.lock:
                self.refused += 1
                first = self.refused == 1
            if first:
                # REFUSED_STREAM: the request was not processed and may be sent again (RFC 9113 §8.7).
                conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                state.streams.pop(stream_id, None)
                self._flush(state)
                return
            body = b'{"ok":"second attempt"}'
        elif path == "/reset":
            conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.INTERNAL_ERROR)
            state.streams.pop(stream_id, None)
            self._flush(state)
            state.close_when_idle()
            return
        elif path == "/goaway":
            conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/json"),
                                          ("content-length", "100")])
            conn.send_data(stream_id, b'{"partial":')
            self._flush(state)
            # A graceful GOAWAY: streams up to this one are still answered. h2's close_connection would
            # refuse to send anything after it, so the frame is written past h2's back.
            state.writer.write(hyperframe.frame.GoAwayFrame(
                stream_id=0, last_stream_id=stream_id, error_code=h2.errors.ErrorCodes.NO_ERROR).serialize())
            state.goaway_stream = stream_id
            state.close_when_idle()
            return
        else:
            body = b'{"error":"no such path"}'
            fields.append(("x-status", "404"))
        if stream_id not in state.streams:
            return  # reset by the client meanwhile
        status = "404" if ("x-status", "404") in fields else "200"
        conn.send_headers(stream_id, [(":status", status), ("content-type", ctype),
                                      ("content-length", str(len(body)))] + fields)
        await self._send_body(state, stream_id, body)
        state.streams.pop(stream_id, None)
        state.close_when_idle()

    async def _send_body(self, state, stream_id, body):
        conn = state.conn
        while True:
            n = min(len(body), conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if n >= len(body):
                conn.send_data(stream_id, body, end_stream=True)
                self._flush(state)
                return
            if n > 0:
                conn.send_data(stream_id, body[:n])
                body = body[n:]
                self._flush(state)
            state.window_open.clear()
            await state.window_open.wait()

    @staticmethod
    def _flush(state):
        data = state.conn.data_to_send()
        if data:
            state.writer.write(data)


class _Connection:
    def __init__(self, conn, writer):
        self.conn = conn
        self.writer = writer
        self.streams = {}
        self.tasks = set()
        self.window_open = asyncio.Event()
        self.closing = False
        self.goaway_stream = None

    def close_when_idle(self):
        """After a GOAWAY: closes TCP once every stream but the GOAWAY one is answered."""
        if self.goaway_stream is None:
            return
        if all(sid == self.goaway_stream for sid in self.streams):
            self.closing = True
            self.writer.close()
