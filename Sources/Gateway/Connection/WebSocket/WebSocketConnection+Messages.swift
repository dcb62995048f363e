internal import GatewayHTTP1
internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

extension WebSocketConnection {
    /// One WebSocket message: parse, route, then answer locally or call the backend.
    func handleMessage(_ payload: UnsafeRawBufferPointer, binary: Bool) {
        refreshIfReloaded()
        // The module as a guaranteed reference, not retained: read through `self` (a `var`), each
        // of its fields passed on (the raw command, the raw route) was retained and released per
        // message. Only `refreshIfReloaded` replaces it, and not while a message is handled.
        Unmanaged.passUnretained(module)._withUnsafeGuaranteedRef { handleMessage(payload, binary: binary, module: $0) }
    }

    private func handleMessage(_ payload: UnsafeRawBufferPointer, binary: Bool, module: ModuleRuntime) {
        let seq = replies.reserve()
        withContext { $0.metrics.messagesReceived += 1 }
        let decoded: DecodedMessage
        do {
            decoded = try MessageCodec.decode(payload, binary: binary, parser: module.parser, rawCommand: module.rawCommand)
        } catch {
            // Even a message we could not parse gets its answer in order.
            // Only the raw format has a command that does not come from the message itself.
            let cmd = module.config.parser == .raw ? module.config.command : nil
            replyError(seq: seq, command: cmd, id: nil, error: error)
            return
        }
        let limits = context.limits
        guard limits.messagesPerSecond == 0
            || madeExtras().rateLimiter.allow(now: context.loop.now, perSecond: limits.messagesPerSecond, burst: limits.messageBurst)
        else {
            context.metrics.rateLimited += 1
            replyError(seq: seq, command: decoded.command, id: decoded.id,
                       error: GatewayReplyError(code: .rateLimited, message: "more than \(limits.messagesPerSecond) messages per second", status: 429))
            return
        }
        // The raw route is bound from the module's `let` (borrowed, no retain); the router's answer
        // is a new reference either way.
        if module.parser == .raw, let ref = module.rawRoute {
            answer(decoded, ref: ref, payload: payload, binary: binary, seq: seq, module: module)
        } else if module.parser != .raw, let ref = module.router.route(for: decoded.command) {
            answer(decoded, ref: ref, payload: payload, binary: binary, seq: seq, module: module)
        } else {
            replyError(seq: seq, command: decoded.command, id: decoded.id,
                       error: GatewayReplyError(code: .unknownCommand, message: "no route for command \"\(decoded.command)\"", status: nil))
        }
    }

    /// A decoded message with its route: answered here (`local`) or by a backend call.
    @inline(__always)
    private func answer(
        _ decoded: DecodedMessage, ref: RouteRef, payload: UnsafeRawBufferPointer, binary: Bool, seq: UInt64, module: ModuleRuntime
    ) {
        let body = UnsafeRawBufferPointer(rebasing: payload[decoded.body])
        switch ref.route.target {
        case .local(.echo):
            // For json, `data` is valid JSON already (the whole envelope was validated). The body of
            // a text frame is valid UTF-8 (the reader checked the whole message; the text format's
            // body starts after an ASCII `:`, so it is whole characters too).
            deliverReply(seq: seq, command: decoded.command, id: decoded.id, binary: binary, bodyIsJSON: module.parser == .json,
                         bodyIsUTF8: !binary, deliver: ref.route.deliver, body: body)
        case .url, .upstream:
            startCall(ref: ref, message: decoded, body: body, seq: seq)
        }
    }

    private func startCall(ref: RouteRef, message: DecodedMessage, body: UnsafeRawBufferPointer, seq: UInt64) {
        let ctx = context
        let call = ctx.backend.makeCall(purpose: .message(seq: seq), handler: self)
        call.spec.fillMessage(
            route: ref.route, command: message.command, seq: seq, key: identity.key, user: handle?.user,
            rooms: handle?.rooms ?? [], forwardable: forwardable, moduleForwardHeaders: module.forwardHeaders,
            traceID: traceID, body: body, contentType: Self.contentType(parser: module.parser, binary: message.binary),
            limits: ctx.limits, traceRNG: &ctx.traceRNG)
        machine.callStarted()
        replies.markWaiting(seq, PendingReply(command: message.command, id: message.id, binary: message.binary, route: ref))
        ctx.backend.start(call)
    }

    /// The content type of a message's body as the backend gets it.
    static func contentType(parser: ParserKind, binary: Bool) -> String {
        switch parser {
        case .json: "application/json"
        case .text: "text/plain; charset=utf-8"
        case .raw: binary ? "application/octet-stream" : "text/plain; charset=utf-8"
        }
    }

    // MARK: Answers

    /// A message's call finished: its answer goes to the reply queue, in order.
    ///
    /// Also after the socket closed. The sender's reply then has nobody to go to, but the message was
    /// accepted: the backend acted on it (stored the chat line, say), so its delivery to other
    /// connections still goes out, and so do the later messages' deliveries that were held back
    /// behind it. Skipping the answer would leave them waiting for good (the connection would then
    /// be freed with them when its last call ends). The calls of a closed connection are not
    /// cancelled, so each held delivery goes out when the earlier calls complete or fail.
    func backendCallDidComplete(_ call: BackendCall) {
        guard case .message(let seq) = call.purpose, let pending = replies.pending(seq) else { return }
        context.recordCall(call, routeIndex: pending.route.route.metricsIndex)
        messageCallCompleted(call, seq: seq, pending)
        guard !socketClosed else { return }  // nothing left for the machine to decide
        perform(machine.callFinished(now: context.loop.now))
    }

    private func messageCallCompleted(_ call: BackendCall, seq: UInt64, _ pending: PendingReply) {
        if let e = call.error {
            replyError(seq: seq, command: pending.command, id: pending.id, error: GatewayReplyError(e))
            return
        }
        let status = call.response.status
        guard (200..<300).contains(status) else {
            replyError(seq: seq, command: pending.command, id: pending.id, error: .backendStatus(status))
            return
        }
        // Session changes first, then delivery, then Gateway-Close.
        // A reply without Gateway- fields (most) is not copied out of the call to be searched for them.
        let hasGatewayFields = call.response.hasGatewayFields
        let close = hasGatewayFields
            ? applySessionHeaders(call.response, log: callLog(command: pending.command, seq: seq, route: pending.route.pattern)) : nil
        var deliver = pending.route.route.deliver
        if hasGatewayFields, let h = call.response.header("gateway-deliver") {
            if let d = Route.Deliver(header: h) {
                deliver = d
            } else {
                context.logger.warning("ignoring invalid Gateway-Deliver \"\(h)\" from \(call.spec.url)",
                                       metadata: callLog(command: pending.command, seq: seq, route: pending.route.pattern))
            }
        }
        if status == 204 {
            complete(seq: seq, reply: nil)
        } else {
            let mediaIsJSON = call.response.contentTypeIsJSON
            call.response.body.withUnsafeReadableBytes { body in
                deliverReply(seq: seq, command: pending.command, id: pending.id, binary: pending.binary,
                             bodyIsJSON: MessageCodec.bodyIsJSON(typeIsJSON: mediaIsJSON, body: body), deliver: deliver, body: body)
            }
        }
        if let (code, reason) = close, !socketClosed {
            perform(machine.closeAfterInflight(code: code, reason: reason, now: context.loop.now))
        }
    }

    /// The context of a log line about one message's call: the ids that find the call in the
    /// backend's own logs (`requestId` is the `Gateway-Request-Id` sent, `traceId` the client's trace
    /// when it sent a `traceparent`).
    func callLog(command: String, seq: UInt64, route: String) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "connectionId": "\(identity.key.string)", "requestId": "\(identity.key.string)-\(seq)", "module": "\(module.config.path)",
            "command": "\(command)", "route": "\(route.isEmpty ? "default" : route)",
        ]
        if let t = traceID { m["traceId"] = "\(t)" }
        return m
    }

    /// Applies `Gateway-Set-User`, `Gateway-Join` and `Gateway-Leave` from a backend response to this
    /// connection's session. Returns the `Gateway-Close` request, if any (applied after delivery).
    func applySessionHeaders(_ r: BackendResponse, log: @autoclosure () -> Logger.Metadata) -> (WebSocketCloseCode, String)? {
        guard let h = handle else { return nil }
        if let u = r.header("gateway-set-user") {
            let v = HeaderValue.safe(u).trimmingOWS()
            context.sessions.setUser(h, v.isEmpty ? nil : v)
        }
        if let j = r.header("gateway-join") { context.sessions.join(h, HeaderValue.list(j)) }
        if let l = r.header("gateway-leave") { context.sessions.leave(h, HeaderValue.list(l)) }
        guard let c = r.header("gateway-close") else { return nil }
        // `4000 reason`: a code from the application range (or 1000) and an optional reason.
        let parts = c.trimmingOWS().split(separator: " ", maxSplits: 1)
        var code = WebSocketCloseCode.normalClosure
        if let first = parts.first, let n = UInt16(first), n == 1000 || (3000...4999).contains(n) {
            code = WebSocketCloseCode(rawValue: n)
        } else {
            context.logger.warning("ignoring invalid close code in Gateway-Close: \(c) (use 1000 or 3000-4999)", metadata: log())
        }
        return (code, parts.count > 1 ? String(parts[1]) : "")
    }
}
