internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON
internal import GatewayWebSocket
internal import Logging

/// A WebSocket handshake that passed RFC checks and waits for the module's hook.
final class PendingUpgrade {
    let request: WebSocketHandshakeRequest
    let module: ModuleRuntime
    let subprotocol: String?
    let head: HTTPRequestHead

    init(request: WebSocketHandshakeRequest, module: ModuleRuntime, subprotocol: String?, head: HTTPRequestHead) {
        self.request = request
        self.module = module
        self.subprotocol = subprotocol
        self.head = head
    }
}

extension ClientConnection {
    /// RFC 6455 checks, Origin allowlist, subprotocol choice, then the hook or an immediate 101.
    func handleUpgrade(_ head: HTTPRequestHead, _ module: ModuleRuntime) {
        let request: WebSocketHandshakeRequest
        do {
            request = try WebSocketHandshake.validate(head)
        } catch {
            var extra = HTTPHeaders()
            if error.status == 426 { extra.add(name: "Sec-WebSocket-Version", value: "13") }
            writeSimpleResponse(status: error.status, body: "{\"error\":\(Self.jsonString(error.description))}",
                                contentType: "application/json", close: true, extraHeaders: extra)
            return
        }
        if let allowed = module.config.origins {
            guard let origin = request.origin, allowed.contains(origin) else {
                writeSimpleResponse(status: 403, body: "{\"error\":\"origin not allowed\"}", contentType: "application/json", close: true)
                return
            }
        }
        if context.draining {
            writeSimpleResponse(status: 503, body: "{\"error\":\"server shutting down\"}", contentType: "application/json", close: true)
            return
        }
        // The first subprotocol the client offers that the module speaks (client preference order).
        let subprotocol = request.subprotocols.first { module.config.subprotocols.contains($0) }
        let pending = PendingUpgrade(request: request, module: module, subprotocol: subprotocol, head: head)
        if let hook = module.config.handshake {
            startHandshakeHook(hook, pending)
        } else {
            acceptUpgrade(pending, user: nil, join: [], firstMessage: nil)
        }
    }

    private func startHandshakeHook(_ url: String, _ pending: PendingUpgrade) {
        guard let r = context.backend.makeRequest() else {
            writeSimpleResponse(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json", close: true)
            return
        }
        r.url = url
        r.timeoutMs = pending.module.config.hookTimeoutMs ?? context.limits.backendTimeoutMs
        r.maxResponseBytes = context.limits.maxBackendResponseBytes
        r.body = hookRequestBody(head: pending.head, subprotocols: pending.request.subprotocols)
        r.addHeader("Gateway-Connection-Id", id)
        context.addTraceparent(to: r, continuing: ConnectionID.traceID(fromTraceparent: pending.head.headers["traceparent"]))
        r.context = context.makeCall(kind: .handshake, command: "", id: nil, binary: false, parser: pending.module.config.parser)
        r.handler = self
        pendingUpgrade = pending
        phase = .awaitingHook
        httpBusy = true
        context.backend.start(r)
    }

    /// The handshake hook's JSON body: `{"connectionId","path","query","headers","remoteAddress","subprotocols"}`.
    /// Header names are lower-cased, repeated fields joined with ", ", and `Gateway-*` never included.
    func hookRequestBody(head: HTTPRequestHead, subprotocols: [String]) -> ByteBuffer {
        var body = ByteBuffer(capacity: 512)
        body.write(string: "{\"connectionId\":")
        JSONWriter.writeString(id, into: &body)
        body.write(string: ",\"path\":")
        JSONWriter.writeString(head.path, into: &body)
        body.write(string: ",\"query\":")
        JSONWriter.writeString(head.query, into: &body)
        body.write(string: ",\"headers\":{")
        // Header names lower-cased; repeated fields joined with ", " (RFC 9110 §5.3).
        var merged: [(String, String)] = []
        for f in head.headers {
            let lower = f.name.lowercased()
            if lower.hasPrefix("gateway-") { continue }  // never forwarded from clients
            if let i = merged.firstIndex(where: { $0.0 == lower }) { merged[i].1 += ", " + f.value } else { merged.append((lower, f.value)) }
        }
        for (i, (name, value)) in merged.enumerated() {
            if i > 0 { body.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(name, into: &body)
            body.write(byte: UInt8(ascii: ":"))
            JSONWriter.writeString(value, into: &body)
        }
        body.write(string: "},\"remoteAddress\":")
        JSONWriter.writeString(tcp.remoteAddress?.hostString ?? "", into: &body)
        body.write(string: ",\"subprotocols\":[")
        for (i, p) in subprotocols.enumerated() {
            if i > 0 { body.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(p, into: &body)
        }
        body.write(string: "]}")
        return body
    }

    func handshakeHookCompleted(_ r: BackendRequest) {
        httpBusy = false
        guard phase == .awaitingHook, let pending = pendingUpgrade else { return }
        pendingUpgrade = nil
        phase = .http
        if let e = r.error {
            context.logger.warning("handshake hook \(pending.module.config.handshake ?? "") failed: \(e)")
            writeSimpleResponse(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json", close: true)
            return
        }
        let status = r.response.status
        guard (200..<300).contains(status) else {
            // The backend's verdict goes back to the client as it is, without an upgrade.
            let ct = r.response.header("content-type") ?? "text/plain; charset=utf-8"
            let body = r.response.body.description
            writeSimpleResponse(status: status, body: body, contentType: ct, close: true)
            return
        }
        let user = r.response.header("gateway-set-user").map { Self.headerSafe($0) }
        let join = (r.response.header("gateway-join") ?? "").split(separator: ",").map { String($0).trimmedSpaces() }.filter { !$0.isEmpty }
        let first: ByteBuffer? = (status == 204 || r.response.body.isEmpty) ? nil : r.takeResponseBody()
        acceptUpgrade(pending, user: user, join: join, firstMessage: first)
    }

    /// Writes the 101, becomes a WebSocket and sends the hook's first message, if any.
    func acceptUpgrade(_ pending: PendingUpgrade, user: String?, join: [String], firstMessage: ByteBuffer?) {
        let session = WebSocketSession(module: pending.module, maxMessageBytes: context.limits.maxMessageBytes, now: context.loop.now)
        session.runtimeGeneration = context.runtime.generation
        session.traceID = ConnectionID.traceID(fromTraceparent: pending.head.headers["traceparent"])
        session.user = user
        session.join(join)
        if !pending.module.anyForwardHeaders.isEmpty {
            for f in pending.head.headers {
                let lower = f.name.lowercased()
                if pending.module.anyForwardHeaders.contains(lower) {
                    session.forwardable.append((lower: lower, name: f.name, value: f.value))
                }
            }
        }
        let accept = pending.request.acceptValue
        tcp.write { WebSocketHandshake.writeResponse(accept: accept, subprotocol: pending.subprotocol, into: &$0) }
        becomeWebSocketAfterHandshake(session, firstMessage: firstMessage)
    }

    private func becomeWebSocketAfterHandshake(_ session: WebSocketSession, firstMessage: ByteBuffer?) {
        ws = session
        if let first = firstMessage {
            phase = .websocket
            first.withUnsafeReadableBytes { raw in
                writeFrame(opcode: MessageCodec.isValidUTF8(raw) ? .text : .binary, payload: raw)
            }
        }
        if context.draining {
            phase = .websocket
            beginDrain()
            return
        }
        becomeWebSocket(session)
    }

    static func jsonString(_ s: String) -> String {
        var b = ByteBuffer()
        JSONWriter.writeString(s, into: &b)
        return b.description
    }
}

extension String {
    func trimmedSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
