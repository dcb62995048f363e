internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

extension ClientConnection {
    /// Switches to WebSocket after the 101 response was queued, then parses anything that arrived
    /// behind the handshake request.
    func becomeWebSocket(_ session: WebSocketSession) {
        ws = session
        phase = .websocket
        context.sessions.add(self)
        context.metrics.websocketsOpened += 1
        let leftover = http?.held
        http = nil
        scheduleWebSocketDeadline()
        if var bytes = leftover, !bytes.isEmpty {
            bytes.withUnsafeMutableReadableBytes { receiveWebSocket($0) }
        }
    }

    func receiveWebSocket(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let s = ws else { return }
        s.lastActivity = context.loop.now
        s.pingOutstanding = false
        if s.paused {
            s.held.write(UnsafeRawBufferPointer(bytes))
            return
        }
        do {
            try s.reader.feed(bytes) { event in self.handle(event, s) }
        } catch {
            failWebSocket(error)
        }
    }

    /// Parses what was held while paused, as long as the session stays unpaused.
    func resumeWebSocket() {
        guard let s = ws, s.paused, phase == .websocket else { return }
        s.paused = false
        do {
            try s.reader.resume { event in self.handle(event, s) }
            if !s.paused && !s.held.isEmpty {
                var bytes = s.held
                s.held = ByteBuffer()
                let r: Result<Void, WebSocketError> = bytes.withUnsafeMutableReadableBytes { raw in
                    Result { () throws(WebSocketError) in try s.reader.feed(raw) { event in self.handle(event, s) } }
                }
                try r.get()
            }
        } catch {
            failWebSocket(error)
            return
        }
        if !s.paused && !s.draining { tcp.resumeReading() }
    }

    private func handle(_ event: WebSocketEvent, _ s: WebSocketSession) -> WebSocketReaderAction {
        guard phase == .websocket else { return .pause }
        switch event {
        case .text(let payload):
            handleMessage(payload, binary: false, s)
        case .binary(let payload):
            handleMessage(payload, binary: true, s)
        case .ping(let payload):
            if s.closeState.canSendData {
                tcp.write { WebSocketFrameEncoder.writeFrame(opcode: .pong, payload: payload, into: &$0) }
            }
        case .pong:
            break
        case .close(let code, let reason):
            receivedClose(code: code, reason: reason, s)
            return .pause
        }
        if s.inflight >= context.limits.maxInflightPerConnection {
            // Backpressure: stop reading this socket until replies come back.
            s.paused = true
            tcp.pauseReading()
            return .pause
        }
        return .proceed
    }

    private func receivedClose(code: WebSocketCloseCode?, reason: UnsafeRawBufferPointer, _ s: WebSocketSession) {
        if s.closeCode == nil {
            s.closeCode = code ?? .noStatus
            s.closeReason = String(decoding: reason, as: UTF8.self)
        }
        switch s.closeState.receivedClose(code: code) {
        case .sendCloseAndCloseConnection(let echo):
            tcp.write { WebSocketFrameEncoder.writeClose(code: echo, reason: "", into: &$0) }
            phase = .closed
            tcp.close()
        case .closeConnection:
            phase = .closed
            tcp.close()
        case .ignore:
            break
        }
    }

    /// Closes because of a protocol violation: close frame with the mapped code, then TCP.
    func failWebSocket(_ error: WebSocketError) {
        guard let s = ws else { return }
        if s.closeCode == nil {
            s.closeCode = error.closeCode
            s.closeReason = error.description
        }
        if case .send(let code) = s.closeState.sendClose(code: error.closeCode) {
            tcp.write { WebSocketFrameEncoder.writeClose(code: code, reason: Self.truncatedReason(error.description), into: &$0) }
        }
        phase = .closed
        tcp.close()
    }

    /// Starts the closing handshake from our side: close frame now, wait for the client's (bounded by
    /// `closeTimeoutSeconds`).
    func closeWebSocket(code: WebSocketCloseCode, reason: String) {
        guard let s = ws else { return }
        guard case .send(let c) = s.closeState.sendClose(code: code) else { return }
        if s.closeCode == nil {
            s.closeCode = code
            s.closeReason = reason
        }
        tcp.write { WebSocketFrameEncoder.writeClose(code: c, reason: reason, into: &$0) }
        tcp.deadline = context.loop.now &+ UInt64(context.limits.closeTimeoutSeconds) * 1_000_000_000
        // Keep reading to see the client's close frame.
        if s.paused {
            s.paused = false
            s.held.clear()
        }
        tcp.resumeReading()
    }

    static func truncatedReason(_ s: String) -> String {
        // A close payload is at most 125 bytes: 2 for the code, so 123 for the reason.
        var out = ""
        for ch in s {
            if out.utf8.count + String(ch).utf8.count > 123 { break }
            out.append(ch)
        }
        return out
    }

    func scheduleWebSocketDeadline() {
        guard let s = ws else { return }
        let limits = context.limits
        let ping = UInt64(limits.pingIntervalSeconds) * 1_000_000_000
        let idle = UInt64(limits.idleTimeoutSeconds) * 1_000_000_000
        tcp.deadline = s.lastActivity &+ (s.pingOutstanding ? idle : min(ping, idle))
    }

    /// The loop's sweep found our deadline passed: ping, idle close, or close-handshake timeout.
    func websocketTimeout() {
        guard let s = ws else { return }
        if !s.closeState.canSendData {
            // Our close frame went unanswered.
            phase = .closed
            tcp.abort()
            return
        }
        let now = context.loop.now
        let limits = context.limits
        let idle = UInt64(limits.idleTimeoutSeconds) * 1_000_000_000
        let ping = UInt64(limits.pingIntervalSeconds) * 1_000_000_000
        if now &- s.lastActivity >= idle {
            closeWebSocket(code: .goingAway, reason: "idle timeout")
            return
        }
        if !s.pingOutstanding && now &- s.lastActivity >= ping {
            s.pingOutstanding = true
            tcp.write { WebSocketFrameEncoder.writeFrame(opcode: .ping, payload: UnsafeRawBufferPointer(start: nil, count: 0), into: &$0) }
        }
        scheduleWebSocketDeadline()
    }

    /// Writes a shared push frame (fan-out) for this connection's wire format. Returns whether it was
    /// queued.
    func push(_ frames: PushFrames) -> Bool {
        guard phase == .websocket, let s = ws, s.closeState.canSendData,
              let f = frames.frame(for: s.module.parser) else { return false }
        tcp.write(shared: f)
        context.metrics.messagesSent += 1
        context.metrics.fanoutDeliveries += 1
        enforceSendQueueLimit(s)
        return true
    }

    /// Writes a complete frame (payload already in `payload`) to the socket, enforcing the send queue
    /// limit: a client that stops reading is closed with 1008 instead of growing memory.
    func writeFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
        guard let s = ws, s.closeState.canSendData, phase == .websocket else { return }
        tcp.write { WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: payload, into: &$0) }
        context.metrics.messagesSent += 1
        enforceSendQueueLimit(s)
    }

    /// A client that stops reading is closed with 1008 (policy violation) once more than
    /// `sendQueueBytes` wait for it, so one stalled reader cannot grow the gateway's memory.
    func enforceSendQueueLimit(_ s: WebSocketSession) {
        if tcp.queuedBytes > context.limits.sendQueueBytes && phase == .websocket {
            context.metrics.slowConsumersClosed += 1
            context.logger.warning("closing slow consumer \(id): \(tcp.queuedBytes) bytes queued (limit \(context.limits.sendQueueBytes))")
            s.closeCode = .policyViolation
            s.closeReason = "send queue full"
            if case .send(let c) = s.closeState.sendClose(code: .policyViolation) {
                tcp.write { WebSocketFrameEncoder.writeClose(code: c, reason: "send queue full", into: &$0) }
            }
            phase = .closed
            tcp.close(lingerNanos: UInt64(context.limits.closeTimeoutSeconds) * 1_000_000_000)
        }
    }
}
