internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON
internal import Logging

/// `POST <module path>`: a `json` envelope runs the same command map as a WebSocket message, and the
/// reply envelope is the response.
extension HTTPConnection {
    func handleCommandPost(_ head: HTTPRequestHead, _ module: ModuleRuntime) {
        context.metrics.httpCommands += 1
        let requestBody = exchange.requestBody
        let result: Result<JSONEnvelope, JSONEnvelopeError> = requestBody.withUnsafeReadableBytes { raw in
            Result { () throws(JSONEnvelopeError) in try JSONEnvelope.parse(raw) }
        }
        let parsed: JSONEnvelope
        switch result {
        case .success(let p):
            parsed = p
        case .failure(let error):
            writeEnvelopeResponse(command: nil, id: nil, error: GatewayReplyError(code: .badMessage, message: error.description, status: nil))
            return
        }
        let id: String? = parsed.id.map { r in requestBody.withUnsafeReadableBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[r]), as: UTF8.self) } }
        guard let route = module.router.route(for: parsed.cmd)?.route else {
            writeEnvelopeResponse(command: parsed.cmd, id: id, error: GatewayReplyError(code: .unknownCommand, message: "no route for command \"\(parsed.cmd)\"", status: nil))
            return
        }
        guard case .some(let claims) = verifiedClaims(head, module, close: false) else { return }
        let command = PendingCommand(head: head, module: module, route: route, command: parsed.cmd, id: id,
                                     data: parsed.data ?? 0..<0, claims: claims)
        if let hook = module.config.handshake {
            // The module's handshake hook guards its commands over plain HTTP too.
            authorizeCommand(hook, command)
            return
        }
        executeCommand(command, user: claims?.subject)
    }

    /// A module with a handshake hook guards plain-HTTP commands with the same hook: it receives the
    /// same JSON (path, query, headers, remote address) and its verdict applies. 2xx runs the command
    /// (`Gateway-Set-User` becomes its `Gateway-User`); any other status is returned as is; an
    /// unreachable hook gives 503.
    private func authorizeCommand(_ hook: BackendTarget, _ command: PendingCommand) {
        let ctx = context
        let call = ctx.backend.makeCall(purpose: .commandAuth, handler: self)
        call.spec.fillHandshakeHook(
            target: hook, module: command.module, key: identity.key, head: command.head, subprotocols: [],
            remoteAddress: tcp.remoteAddress?.hostString ?? "", limits: ctx.limits, traceRNG: &ctx.traceRNG,
            claims: command.claims?.payload)
        pending = .authorization(command)
        ctx.backend.start(call)
    }

    func commandAuthCompleted(_ call: BackendCall, _ command: PendingCommand) {
        guard isAnswering else { return }
        if let e = call.error {
            context.logger.warning("handshake hook \(command.module.config.handshake.map { "\($0)" } ?? "") failed for a POST command: \(e)")
            respond(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json")
            resumeHeld()
            return
        }
        let status = call.response.status
        guard (200..<300).contains(status) else {
            respond(status: status, body: call.response.body.description,
                    contentType: call.response.header("content-type") ?? "text/plain; charset=utf-8")
            resumeHeld()
            return
        }
        let user = call.response.header("gateway-set-user").map { HeaderValue.safe($0).trimmingOWS() }.flatMap { $0.isEmpty ? nil : $0 }
        executeCommand(command, user: user ?? command.claims?.subject)
    }

    /// Runs an authorized `POST <module path>` command.
    private func executeCommand(_ command: PendingCommand, user: String?) {
        let route = command.route, range = command.data
        switch route.target {
        case .local(.echo):
            let ctx = context
            ctx.scratch.clear()
            exchange.requestBody.withUnsafeReadableBytes { raw in
                let body = UnsafeRawBufferPointer(rebasing: raw[range])
                ctx.deliverPush(command: command.command, body: body, bodyIsJSON: true, deliver: route.deliver)
                _ = MessageCodec.encodeReply(parser: .json, command: command.command, id: command.id, body: body, bodyIsJSON: true, requestBinary: false, into: &ctx.scratch)
            }
            writeScratchResponse(status: 200)
            resumeHeld()
        case .url, .upstream:
            let ctx = context
            let call = ctx.backend.makeCall(purpose: .httpCommand, handler: self)
            exchange.requestBody.withUnsafeReadableBytes { raw in
                call.spec.fillHTTPCommand(
                    route: route, module: command.module, command: command.command, key: identity.key, head: command.head,
                    user: user, body: UnsafeRawBufferPointer(rebasing: raw[range]), limits: ctx.limits, traceRNG: &ctx.traceRNG)
            }
            pending = .command(command)
            ctx.backend.start(call)
        }
    }

    func httpCommandCompleted(_ call: BackendCall, _ command: PendingCommand) {
        guard isAnswering else { return }
        if let e = call.error {
            writeEnvelopeResponse(command: command.command, id: command.id, error: GatewayReplyError(e))
        } else if !(200..<300).contains(call.response.status) {
            writeEnvelopeResponse(command: command.command, id: command.id, error: .backendStatus(call.response.status))
        } else if call.response.status == 204 {
            let keepAlive = exchange.respond(close: context.draining, now: context.loop.now)
            tcp.write { HTTPResponseWriter.writeHead(status: 204, headers: HTTPHeaders(), contentLength: nil, keepAlive: keepAlive, into: &$0) }
            finishResponse(keepAlive: keepAlive)
        } else {
            let ctx = context
            ctx.scratch.clear()
            let mediaIsJSON = call.response.contentTypeIsJSON
            var deliver = command.route.deliver
            if let h = call.response.header("gateway-deliver"), let d = Route.Deliver(header: h) { deliver = d }
            call.response.body.withUnsafeReadableBytes { body in
                let isJSON = MessageCodec.bodyIsJSON(typeIsJSON: mediaIsJSON, body: body)
                ctx.deliverPush(command: command.command, body: body, bodyIsJSON: isJSON, deliver: deliver)
                _ = MessageCodec.encodeReply(parser: .json, command: command.command, id: command.id, body: body,
                                             bodyIsJSON: isJSON, requestBinary: false, into: &ctx.scratch)
            }
            writeScratchResponse(status: 200)
        }
        resumeHeld()
    }

    /// An error envelope as the response, with the error's HTTP status (and `Retry-After`, in
    /// whole seconds rounded up, when the error says when to try again).
    func writeEnvelopeResponse(command: String?, id: String?, error: GatewayReplyError, close: Bool = false) {
        let ctx = context
        ctx.scratch.clear()
        MessageCodec.encodeError(parser: .json, command: command, id: id, error: error, into: &ctx.scratch)
        writeScratchResponse(status: error.code.httpStatus, close: close, retryAfterSeconds: error.retryAfterMs.map { ($0 + 999) / 1000 })
    }

    /// Writes `context.scratch` as a JSON response.
    private func writeScratchResponse(status: Int, close: Bool = false, retryAfterSeconds: Int? = nil) {
        let ctx = context
        let keepAlive = exchange.respond(close: close || ctx.draining, now: ctx.loop.now)
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let s = retryAfterSeconds { headers.add(name: "Retry-After", value: "\(max(1, s))") }
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: headers,
                                         contentLength: ctx.scratch.readableBytes, keepAlive: keepAlive, into: &buf)
            buf.write(buffer: ctx.scratch)
        }
        finishResponse(keepAlive: keepAlive)
    }
}
