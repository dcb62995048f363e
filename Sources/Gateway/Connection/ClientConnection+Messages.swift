internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

/// What a backend call was made for, kept in `BackendRequest.context`.
final class CallContext {
    enum Kind {
        /// A WebSocket message with this sequence number.
        case message(seq: UInt64)
        /// `POST <module path>`.
        case httpCommand
        /// The module's handshake hook.
        case handshake
        /// The handshake hook authorizing a `POST <module path>` command.
        case commandAuth
    }

    // Reused through `LoopContext.makeCall`/`recycle`, so a call allocates no context object.
    var kind: Kind = .httpCommand
    var command = ""
    var id: String?
    var binary = false
    var parser: ParserKind = .json
    /// The route's delivery (the `Gateway-Deliver` response header overrides it).
    var deliver: Route.Deliver = .sender
    /// The route's metrics index (-1 for hooks).
    var routeIndex = -1
    /// Loop time when the call started.
    var startedAt: UInt64 = 0
}

extension ClientConnection: BackendResponseHandler {
    /// One WebSocket message: parse, route, then answer locally or call the backend.
    func handleMessage(_ payload: UnsafeRawBufferPointer, binary: Bool, _ s: WebSocketSession) {
        if s.runtimeGeneration != context.runtime.generation {
            // A reload happened: take the module's new routes (keep the old ones if it was removed).
            if let m = context.runtime.modules[s.module.config.path] { s.module = m }
            s.runtimeGeneration = context.runtime.generation
        }
        let module = s.module
        let seq = s.replies.reserve()
        context.metrics.messagesReceived += 1
        let decoded: DecodedMessage
        switch MessageCodec.decode(payload, binary: binary, parser: module.parser, rawCommand: module.rawCommand) {
        case .success(let d):
            decoded = d
        case .failure(let err):
            // Even a message we could not parse gets its answer in order.
            // Only the raw format has a command that does not come from the message itself.
            let cmd = module.config.parser == .raw ? module.config.command : nil
            replyError(seq: seq, command: cmd, id: nil, error: err, s)
            return
        }
        let limits = context.limits
        guard s.allowMessage(now: context.loop.now, perSecond: limits.messagesPerSecond, burst: limits.messageBurst) else {
            context.metrics.rateLimited += 1
            replyError(seq: seq, command: decoded.command, id: decoded.id,
                       error: GatewayReplyError(code: .rateLimited, message: "more than \(limits.messagesPerSecond) messages per second", status: 429), s)
            return
        }
        guard let ref = module.router.route(for: decoded.command) else {
            replyError(seq: seq, command: decoded.command, id: decoded.id,
                       error: GatewayReplyError(code: .unknownCommand, message: "no route for command \"\(decoded.command)\"", status: nil), s)
            return
        }
        let body = UnsafeRawBufferPointer(rebasing: payload[decoded.body])
        switch ref.route.target {
        case .local(.echo):
            // For json, `data` is valid JSON already (the whole envelope was validated).
            let outcome = ReplyOutcome(command: decoded.command, id: decoded.id, binary: binary,
                                       bodyIsJSON: module.parser == .json, deliver: ref.route.deliver)
            deliverReply(seq: seq, outcome: outcome, body: body, s)
        case .url(let url):
            startCall(url: url, ref: ref, message: decoded, body: body, seq: seq, s)
        }
    }

    private func startCall(url: String, ref: RouteRef, message: DecodedMessage, body: UnsafeRawBufferPointer, seq: UInt64, _ s: WebSocketSession) {
        guard let r = context.backend.makeRequest() else {
            replyError(seq: seq, command: message.command, id: message.id,
                       error: GatewayReplyError(code: .backendUnavailable, message: "cannot create a backend request", status: 503), s)
            return
        }
        r.url = url
        r.method = ref.route.method
        r.timeoutMs = ref.route.timeoutMs ?? context.limits.backendTimeoutMs
        r.maxResponseBytes = context.limits.maxBackendResponseBytes
        r.hasBody = ref.route.method != "GET"
        r.body.write(body)
        r.contentType = Self.contentType(parser: s.module.parser, binary: message.binary)
        addGatewayHeaders(r, command: message.command, seq: seq, session: s, route: ref.route)
        let call = context.makeCall(kind: .message(seq: seq), command: message.command, id: message.id, binary: message.binary,
                                    parser: s.module.parser, deliver: ref.route.deliver, routeIndex: ref.route.metricsIndex)
        r.context = call
        r.handler = self
        s.inflight += 1
        s.replies.markWaiting(seq)
        context.backend.start(r)
    }

    static func contentType(parser: ParserKind, binary: Bool) -> String {
        switch parser {
        case .json: "application/json"
        case .text: "text/plain; charset=utf-8"
        case .raw: binary ? "application/octet-stream" : "text/plain; charset=utf-8"
        }
    }

    /// The backend protocol's request headers (DESIGN §4), written into the request's reusable header
    /// buffer (no String is built per call). `seq` nil means an HTTP command (`<id>-http`).
    func addGatewayHeaders(_ r: BackendRequest, command: String, seq: UInt64?, session: WebSocketSession?, route: Route?, traceID: String? = nil) {
        let connectionKey = key
        r.addHeader("Gateway-Connection-Id") { b in connectionKey.write(into: &b) }
        r.addHeader("Gateway-Command", command)
        r.addHeader("Gateway-Request-Id") { b in
            connectionKey.write(into: &b)
            b.write(byte: UInt8(ascii: "-"))
            if let seq { b.write(decimal: UInt(seq)) } else { b.write(string: "http") }
        }
        if let s = session {
            if let u = s.user { r.addHeader("Gateway-User", u) }
            if !s.rooms.isEmpty {
                r.addHeader("Gateway-Rooms") { b in
                    for (i, room) in s.rooms.enumerated() {
                        if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                        for c in room.utf8 where c != 13 && c != 10 && c != 0 { b.write(byte: c) }
                    }
                }
            }
            for f in s.forwardable where s.module.forwardHeaders.contains(f.lower) || (route?.forwardHeaders.contains(f.lower) ?? false) {
                r.addHeader(f.name, f.value)
            }
        }
        context.addTraceparent(to: r, continuing: traceID ?? session?.traceID)
    }

    /// Strips CR/LF so a value can never inject a header line.
    static func headerSafe(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) { return s }
        return String(s.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }

    // MARK: Completion

    func backendRequestDidComplete(_ request: BackendRequest) {
        guard let call = request.context as? CallContext else { return }
        defer { context.recycle(call) }
        if call.routeIndex >= 0 {
            let seconds = Double(context.loop.now &- call.startedAt) / 1e9
            context.metrics.recordCall(route: call.routeIndex, outcome: Self.outcome(request), seconds: seconds)
        }
        switch call.kind {
        case .message(let seq):
            guard let s = ws else { return }  // closed meanwhile: the reply has nobody to go to
            s.inflight -= 1
            messageCallCompleted(request, call: call, seq: seq, s)
            if s.paused && s.inflight < context.limits.maxInflightPerConnection && phase == .websocket {
                resumeWebSocket()
            }
            if s.inflight == 0 && phase == .websocket {
                if let (code, reason) = s.pendingClose {
                    closeWebSocket(code: code, reason: reason)
                } else if s.draining {
                    closeWebSocket(code: .goingAway, reason: "server shutting down")
                }
            }
        case .httpCommand:
            httpCommandCompleted(request, call: call)
        case .handshake:
            handshakeHookCompleted(request)
        case .commandAuth:
            commandAuthCompleted(request)
        }
    }

    private func messageCallCompleted(_ r: BackendRequest, call: CallContext, seq: UInt64, _ s: WebSocketSession) {
        if let e = r.error {
            replyError(seq: seq, command: call.command, id: call.id, error: Self.replyError(for: e), s)
            return
        }
        let status = r.response.status
        guard (200..<300).contains(status) else {
            replyError(seq: seq, command: call.command, id: call.id,
                       error: GatewayReplyError(code: .backendError, message: "backend answered \(status)", status: status), s)
            return
        }
        // Session changes first, then delivery, then Gateway-Close.
        let close = applySessionHeaders(r.response)
        var deliver = call.deliver
        if let h = r.response.header("gateway-deliver") {
            if let d = Route.Deliver(header: h) {
                deliver = d
            } else {
                context.logger.warning("ignoring invalid Gateway-Deliver \"\(h)\" from \(r.url)")
            }
        }
        if status == 204 {
            complete(seq: seq, reply: nil, s)
        } else {
            let mediaIsJSON = r.response.contentTypeIsJSON
            r.response.body.withUnsafeReadableBytes { body in
                let outcome = ReplyOutcome(command: call.command, id: call.id, binary: call.binary,
                                           bodyIsJSON: MessageCodec.bodyIsJSON(typeIsJSON: mediaIsJSON, body: body), deliver: deliver)
                deliverReply(seq: seq, outcome: outcome, body: body, s)
            }
        }
        if let (code, reason) = close { closeAfterReplies(code: code, reason: reason, s) }
    }

    static func outcome(_ r: BackendRequest) -> GatewayMetrics.Outcome {
        switch r.error {
        case nil:
            let s = r.response.status
            return s >= 500 ? .status5xx : (s >= 400 ? .status4xx : .ok)
        case .unavailable: return .unavailable
        case .timeout: return .timeout
        case .responseTooLarge, .badResponse: return .badResponse
        case .cancelled: return .cancelled
        }
    }

    static func replyError(for e: BackendError) -> GatewayReplyError {
        switch e {
        case .unavailable(let why): GatewayReplyError(code: .backendUnavailable, message: "backend unavailable: \(why)", status: 503)
        case .timeout(let ms): GatewayReplyError(code: .backendTimeout, message: "backend did not answer within \(ms) ms", status: 504)
        case .responseTooLarge(let limit): GatewayReplyError(code: .backendError, message: "backend response larger than \(limit) bytes", status: 502)
        case .badResponse(let why): GatewayReplyError(code: .backendError, message: "invalid backend response: \(why)", status: 502)
        case .cancelled: GatewayReplyError(code: .backendUnavailable, message: "gateway shutting down", status: 503)
        }
    }

    // MARK: Ordered replies

    func replyError(seq: UInt64, command: String?, id: String?, error: GatewayReplyError, _ s: WebSocketSession) {
        let ctx = context
        ctx.scratch.clear()
        MessageCodec.encodeError(parser: s.module.parser, command: command, id: id, error: error, into: &ctx.scratch)
        completeFromScratch(seq: seq, opcode: .text, s)
    }

    /// The reply payload for `seq` is in `context.scratch`: write it now if it is next in line,
    /// otherwise keep a framed copy until the earlier replies are out.
    func completeFromScratch(seq: UInt64, opcode: WebSocketOpcode, _ s: WebSocketSession) {
        let ctx = context
        if s.replies.isNext(seq) {
            s.replies.skipImmediate(seq)
            ctx.scratch.withUnsafeReadableBytes { writeFrame(opcode: opcode, payload: $0) }
            return
        }
        if s.replies.isOldest(seq) {
            // The usual case for a backend reply: nothing earlier is pending, so it is framed straight
            // into the send queue instead of into a buffer of its own, then the replies that finished
            // early behind it follow.
            ctx.scratch.withUnsafeReadableBytes { writeFrame(opcode: opcode, payload: $0) }
            complete(seq: seq, reply: nil, s)
            return
        }
        var framed = ctx.takeReplyBuffer(capacity: ctx.scratch.readableBytes + WebSocketFrameEncoder.maxHeaderSize)
        ctx.scratch.withUnsafeReadableBytes {
            WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: $0, into: &framed)
        }
        complete(seq: seq, reply: framed, s)
    }

    /// Records the outcome for `seq` (a framed reply, or nil for none) and writes what is in order.
    func complete(seq: UInt64, reply: ByteBuffer?, _ s: WebSocketSession) {
        if reply == nil && s.replies.isNext(seq) {
            s.replies.skipImmediate(seq)
            return
        }
        s.replies.complete(seq, with: reply) { framed in
            defer { context.recycleReplyBuffer(&framed) }
            guard s.closeState.canSendData, phase == .websocket else { return }
            framed.withUnsafeReadableBytes { tcp.write(bytes: $0) }
            context.metrics.messagesSent += 1
            enforceSendQueueLimit(s)
        }
    }
}
