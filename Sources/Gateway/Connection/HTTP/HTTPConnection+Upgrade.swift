internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

/// The WebSocket handshake: RFC 6455 checks, the Origin allowlist, the subprotocol, the module's
/// hook, then the 101 and the hand-over of the socket to a `WebSocketConnection`.
extension HTTPConnection {
    func handleUpgrade(_ head: HTTPRequestHead, _ module: ModuleRuntime) {
        handshakeModule = module.config.path
        let request: WebSocketHandshakeRequest
        do {
            request = try WebSocketHandshake.validate(head)
        } catch {
            var extra = HTTPHeaders()
            if error.status == 426 { extra.add(name: "Sec-WebSocket-Version", value: "13") }
            respond(status: error.status, body: "{\"error\":\(Self.jsonString(error.description))}",
                    contentType: "application/json", close: true, extraHeaders: extra)
            return
        }
        if let allowed = module.config.origins {
            guard let origin = request.origin, allowed.contains(origin) else {
                respond(status: 403, body: "{\"error\":\"origin not allowed\"}", contentType: "application/json", close: true)
                return
            }
        }
        if context.draining {
            respond(status: 503, body: "{\"error\":\"server shutting down\"}", contentType: "application/json", close: true)
            return
        }
        // The first subprotocol the client offers that the module speaks (client preference order).
        let subprotocol = request.subprotocols.first { module.config.subprotocols.contains($0) }
        guard case .some(let claims) = verifiedClaims(head, module, close: true) else { return }
        // permessage-deflate: the first offer the module's policy can honour, or none (RFC 7692 §5).
        let compression = module.config.compression
        let deflate = compression.enabled && !request.extensions.isEmpty
            ? PerMessageDeflateNegotiation.negotiate(request.extensions, policy: compression.policy) : nil
        let upgrade = PendingUpgrade(request: request, module: module, subprotocol: subprotocol, head: head, claims: claims,
                                     deflate: deflate)
        if let hook = module.config.handshake {
            let ctx = context
            let call = ctx.backend.makeCall(purpose: .handshake, handler: self)
            call.spec.fillHandshakeHook(
                target: hook, module: module, key: identity.key, head: head, subprotocols: request.subprotocols,
                remoteAddress: tcp.remoteAddress?.hostString ?? "", limits: ctx.limits, traceRNG: &ctx.traceRNG,
                claims: claims?.payload)
            pending = .handshake(upgrade)
            ctx.backend.start(call)
        } else {
            acceptUpgrade(upgrade, user: claims?.subject, join: claims?.rooms ?? [], firstMessage: nil)
        }
    }

    /// The hook's verdict: 2xx accepts (with `Gateway-Set-User` and `Gateway-Join`, and its body as
    /// the first message); any other status goes back to the client as is, without an upgrade; an
    /// unreachable hook gives 503.
    func handshakeHookCompleted(_ call: BackendCall, _ upgrade: PendingUpgrade) {
        guard isAnswering else { return }
        if let e = call.error {
            context.logger.warning("handshake hook \(upgrade.module.config.handshake.map { "\($0)" } ?? "") failed: \(e)",
                                   metadata: ["connectionId": "\(identity.key.string)", "module": "\(upgrade.module.config.path)"])
            respond(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json", close: true)
            return
        }
        let status = call.response.status
        guard (200..<300).contains(status) else {
            // The backend's verdict goes back to the client as it is, without an upgrade.
            let ct = call.response.header("content-type") ?? "text/plain; charset=utf-8"
            respond(status: status, body: call.response.body.description, contentType: ct, close: true)
            return
        }
        // A verified token's `sub` and `rooms` count unless the hook says otherwise (DESIGN §9).
        let user = call.response.header("gateway-set-user").map { HeaderValue.safe($0) } ?? upgrade.claims?.subject
        let join = (upgrade.claims?.rooms ?? []) + HeaderValue.list(call.response.header("gateway-join") ?? "")
        let first: ByteBuffer? = (status == 204 || call.response.body.isEmpty) ? nil : call.takeResponseBody()
        acceptUpgrade(upgrade, user: user, join: join, firstMessage: first)
    }

    /// Writes the 101 and hands the socket to a WebSocket handler, with the bytes that arrived behind
    /// the handshake request.
    private func acceptUpgrade(_ upgrade: PendingUpgrade, user: String?, join: [String], firstMessage: ByteBuffer?) {
        var forwardable: [ForwardableHeader] = []
        if !upgrade.module.anyForwardHeaders.isEmpty {
            for f in upgrade.head.headers {
                let lower = f.name.lowercased()
                if upgrade.module.anyForwardHeaders.contains(lower) {
                    forwardable.append(ForwardableHeader(lower: lower, name: f.name, value: f.value))
                }
            }
        }
        handshakeFinished(status: 101, module: upgrade.module.config.path, user: user)
        let accept = upgrade.request.acceptValue
        var extra = HTTPHeaders()
        if let deflate = upgrade.deflate { extra.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeader) }
        tcp.write { WebSocketHandshake.writeResponse(accept: accept, subprotocol: upgrade.subprotocol, extraHeaders: extra, into: &$0) }
        let leftover = exchange.upgrade()
        let ws = WebSocketConnection(
            context: context, tcp: tcp, identity: identity, module: upgrade.module,
            traceID: Traceparent.traceID(fromTraceparent: upgrade.head.headers["traceparent"]), forwardable: forwardable,
            deflate: upgrade.deflate)
        upgradedTo = ws
        context.handOver(self, to: ws)
        ws.start(user: user, rooms: join, firstMessage: firstMessage, leftover: leftover)
        if let exp = upgrade.claims?.expiresAt { ws.expire(atUnixSeconds: exp) }
    }

    /// A handshake ended with `status` (101, or the refusal sent instead): counted by status, and
    /// one access-log line at `info` (opt-in: the default level is `notice`).
    func handshakeFinished(status: Int, module: String, user: String?) {
        handshakeModule = nil
        context.metrics.recordHandshake(status: status)
        guard context.logger.logLevel <= .info else { return }
        var meta: Logger.Metadata = [
            "event": "handshake", "connectionId": "\(identity.key.string)", "module": "\(module)", "status": .stringConvertible(status),
            "durationMs": .stringConvertible((context.loop.now &- identity.acceptedAt) / 1_000_000),
            "remoteAddress": "\(tcp.remoteAddress?.hostString ?? "")",
        ]
        if let user { meta["user"] = "\(user)" }
        context.logger.info("handshake \(module) \(status)", metadata: meta)
    }
}
