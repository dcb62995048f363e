internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayWebSocket

/// One client connection: HTTP/1.1 until a WebSocket handshake succeeds, then WebSocket. It owns the
/// protocol state machines (sans-IO parsers) and carries out their actions on its `TCPConnection`.
final class ClientConnection: ConnectionHandler {
    /// `unowned(unsafe)`: the loop's context outlives its connections (it is dropped only after the
    /// loop stopped), and this reference is used several times per message.
    unowned(unsafe) let context: LoopContext
    let tcp: TCPConnection
    /// Cluster-unique, unguessable id (`Gateway-Connection-Id`), kept compact (see `ConnectionKey`).
    let key: ConnectionKey
    /// The id's text form (allocates: for JSON, logs and cold paths).
    var id: String { key.string }
    let acceptedAt: UInt64
    var registryIndex = -1
    /// Position in this loop's `SessionShard.sessions` while a WebSocket session is registered.
    var sessionIndex = -1
    /// Serial of the last delivery written to this connection (dedup across rooms).
    var deliveryMark: UInt64 = 0

    enum Phase {
        /// Reading HTTP requests.
        case http
        /// A WebSocket handshake waits for the module's handshake hook.
        case awaitingHook
        /// WebSocket frames.
        case websocket
        /// Closed or closing; nothing more is processed.
        case closed
    }

    var phase: Phase = .http {
        didSet {
            // A WebSocket session ends the moment the connection stops being one (closing handshake
            // done, protocol error, EOF, kick…), not when TCP finally closes: it leaves the indexes
            // and its disconnect hook goes out at once.
            if phase == .closed && oldValue == .websocket { endSession() }
        }
    }
    /// The session's end was processed (index removal, disconnect hook).
    var sessionEnded = false

    /// The HTTP phase's state, in its own object so that a WebSocket connection, once upgraded, does
    /// not carry the parser and request buffers inline (about 220 bytes per idle connection).
    final class HTTPPhase {
        var parser: HTTPRequestParser
        var requestHead: HTTPRequestHead?
        var requestBody = ByteBuffer()
        /// Bytes received while parsing waits (pipelined requests, or frames sent before the 101).
        var held = ByteBuffer()

        init(parser: HTTPRequestParser) { self.parser = parser }
    }

    /// Present until the connection upgrades (or closes).
    var http: HTTPPhase?
    /// A request is being answered asynchronously (command POST or hook); parsing waits.
    var httpBusy = false
    var closeAfterResponse = false

    /// A handshake waiting for its hook.
    var pendingUpgrade: PendingUpgrade?
    /// The `http[]` request being proxied.
    var proxy: ProxyExchange?
    /// A `POST <module path>` command waiting for the handshake hook.
    var pendingCommand: PendingCommand?
    /// The address counted by admission control (released on close).
    var admittedIP: String?

    // WebSocket state.
    var ws: WebSocketSession?

    init(context: LoopContext, tcp: TCPConnection) {
        self.context = context
        self.tcp = tcp
        self.key = ConnectionKey(loop: context.loop.index, pool: &context.randomPool)
        self.acceptedAt = context.loop.now
        let limits = context.limits
        // The parser's body limit is the larger of the two; requests that are not proxied are held to
        // `maxRequestBodyBytes` as their body arrives.
        let bodyLimit = context.runtime.config.http.isEmpty ? limits.maxRequestBodyBytes : max(limits.maxRequestBodyBytes, limits.maxProxyBodyBytes)
        self.http = HTTPPhase(parser: HTTPRequestParser(limits: HTTPParserLimits(
            maxRequestLineBytes: min(8192, limits.maxHeaderBytes), maxHeaderBytes: limits.maxHeaderBytes,
            maxHeaderCount: 100, maxBodyBytes: bodyLimit)))
        tcp.deadline = context.loop.now &+ UInt64(limits.handshakeTimeoutSeconds) * 1_000_000_000
    }

    // MARK: ConnectionHandler

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        switch phase {
        case .http:
            receiveHTTP(bytes)
        case .awaitingHook:
            http?.held.write(UnsafeRawBufferPointer(bytes))
        case .websocket:
            receiveWebSocket(bytes)
        case .closed:
            break
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        switch phase {
        case .websocket:
            // The peer vanished without a close frame: 1006 for the disconnect hook.
            ws?.closeCode = ws?.closeCode ?? WebSocketCloseCode(rawValue: 1006)
            ws?.closeReason = ws?.closeReason ?? "connection lost"
            phase = .closed
            tcp.abort()
        case .http, .awaitingHook:
            // Half-closed HTTP client: answer what is in progress, then close.
            if httpBusy || phase == .awaitingHook {
                closeAfterResponse = true
            } else {
                phase = .closed
                tcp.close()
            }
        case .closed:
            tcp.abort()
        }
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        if phase == .websocket { ws?.didDrain(self) }
        proxy?.clientDrained()
    }

    func connectionDidTimeOut(_ connection: TCPConnection) {
        switch phase {
        case .http:
            if let p = http?.parser, !p.isIdle || httpBusy {
                if httpBusy { return }  // waiting for a backend: its own timeout applies
                writeSimpleResponse(status: 408, body: "request timeout\n", close: true)
            } else {
                phase = .closed
                tcp.close()
            }
        case .awaitingHook:
            break  // the hook call has its own timeout
        case .websocket:
            websocketTimeout()
        case .closed:
            tcp.abort()
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        endSession()
        phase = .closed
        if let p = proxy {
            proxy = nil
            p.cancel()
        }
        context.unregister(self)
        if let ip = admittedIP {
            admittedIP = nil
            context.hub.admission.release(ip: ip)
        }
        ws = nil
        http = nil
    }

    /// Removes the WebSocket session from the indexes and sends its disconnect hook, once.
    func endSession() {
        guard !sessionEnded, let session = ws else { return }
        sessionEnded = true
        context.sessions.remove(self)
        // Not `session.replies.removeAll()`: this can run from inside the reply queue's own write
        // callback (a reply that overflowed the send queue); queued replies go with the session.
        sendDisconnectHook(session)
    }

    // MARK: Drain

    /// SIGTERM: stop taking new work; close once what was started is answered.
    func beginDrain() {
        switch phase {
        case .http:
            if httpBusy { closeAfterResponse = true } else { phase = .closed; tcp.close() }
        case .awaitingHook:
            closeAfterResponse = true
        case .websocket:
            guard let s = ws else { return }
            s.draining = true
            tcp.pauseReading()
            if s.inflight == 0 { closeWebSocket(code: .goingAway, reason: "server shutting down") }
        case .closed:
            break
        }
    }

    /// The drain timeout passed: close now.
    func forceClose() {
        if phase == .websocket, let s = ws, s.closeState.canSendData {
            closeWebSocket(code: .goingAway, reason: "server shutting down")
        }
        phase = .closed
        tcp.abort()
    }
}
