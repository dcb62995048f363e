internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON
internal import GatewayWebSocket
internal import Logging

extension ClientConnection {
    /// Bytes in the HTTP phase: parse requests one at a time (pipelined ones wait in `held` while an
    /// earlier one is answered asynchronously).
    func receiveHTTP(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let http else { return }
        if parsingWaits || !http.held.isEmpty {
            http.held.write(UnsafeRawBufferPointer(bytes))
            if !parsingWaits { resumeHTTP() }
            return
        }
        parseHTTP(UnsafeRawBufferPointer(bytes))
    }

    /// Whether received bytes must wait: a request is being answered asynchronously, except while a
    /// proxied request's body is still streaming to the backend.
    private var parsingWaits: Bool {
        guard httpBusy else { return false }
        if let p = proxy { return p.uploadDone }
        return true
    }

    /// Continues with held bytes after an asynchronous response was written.
    func resumeHTTP() {
        guard phase == .http, !parsingWaits, let http, !http.held.isEmpty else { return }
        let bytes = http.held
        http.held = ByteBuffer()
        bytes.withUnsafeReadableBytes { parseHTTP($0) }
    }

    private func parseHTTP(_ input: UnsafeRawBufferPointer) {
        guard let http else { return }
        var parser = http.parser
        if parser.isIdle {
            tcp.deadline = context.loop.now &+ UInt64(context.limits.handshakeTimeoutSeconds) * 1_000_000_000
        }
        let consumed: Int
        do {
            consumed = try parser.feed(input) { event in
                switch event {
                case .head(let h):
                    http.requestHead = h
                    http.requestBody.clear()
                    if h.version == .http1_1 && h.headers["host"] == nil {
                        // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
                        writeSimpleResponse(status: 400, body: "{\"error\":\"missing Host header\"}", contentType: "application/json", close: true)
                        return .pause
                    }
                    if h.version == .http1_1, h.headers.contains(name: "expect", token: "100-continue") {
                        // The body will be read: say so now instead of making the client wait (curl waits 1 s).
                        tcp.write { $0.write(string: "HTTP/1.1 100 Continue\r\n\r\n") }
                    }
                    if h.path != "/healthz", context.runtime.modules[String(h.path)] == nil, let route = proxyRoute(for: h.path) {
                        startProxy(h, route)
                    }
                    return phase == .http ? .proceed : .pause
                case .body(let chunk):
                    if let p = proxy {
                        p.upload(chunk)
                        return .proceed
                    }
                    if http.requestBody.readableBytes + chunk.count > context.limits.maxRequestBodyBytes {
                        // A command envelope too big for the limit gets the wire format's `too_large`.
                        writeEnvelopeResponse(command: nil, id: nil, error: GatewayReplyError(
                            code: .tooLarge, message: "request body larger than \(context.limits.maxRequestBodyBytes) bytes", status: 413), keepAlive: false)
                        return .pause
                    }
                    http.requestBody.write(chunk)
                    return .proceed
                case .end:
                    if let p = proxy {
                        p.finishUpload()
                        return .pause
                    }
                    if httpBusy { return .pause }
                    return dispatchRequest()
                }
            }
        } catch {
            http.parser = parser
            context.logger.debug("bad request from \(tcp.remoteAddress?.description ?? "?"): \(error)")
            if case .bodyTooLarge(let limit) = error {
                // Said in the wire format's terms, since the body is most likely a command envelope.
                writeEnvelopeResponse(command: nil, id: nil, error: GatewayReplyError(
                    code: .tooLarge, message: "request body larger than \(limit) bytes", status: 413), keepAlive: false)
                return
            }
            tcp.write { HTTPResponseWriter.writeError(error, into: &$0) }
            phase = .closed
            tcp.close()
            return
        }
        if phase == .http || phase == .awaitingHook {
            http.parser = parser
        }
        if consumed < input.count && phase != .closed {
            if phase == .websocket {
                // Frames that arrived in the same read as the upgrade request.
                var bytes = ByteBuffer()
                bytes.write(UnsafeRawBufferPointer(rebasing: input[consumed...]))
                bytes.withUnsafeMutableReadableBytes { receiveWebSocket($0) }
            } else {
                http.held.write(UnsafeRawBufferPointer(rebasing: input[consumed...]))
            }
        }
    }

    /// A complete request: answer it. Returns `.pause` when parsing must stop (asynchronous answer,
    /// WebSocket upgrade, or the connection closes).
    private func dispatchRequest() -> HTTPParserAction {
        guard let head = http?.requestHead else { return .proceed }
        let path = String(head.path)
        if path == "/healthz" && (head.method == .GET || head.method == .HEAD) {
            writeSimpleResponse(status: 200, body: context.draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}",
                                contentType: "application/json", close: !head.isKeepAlive, head: head.method == .HEAD)
            return phase == .http ? .proceed : .pause
        }
        guard let module = context.runtime.modules[path] else {
            writeSimpleResponse(status: 404, body: "{\"error\":\"not found\"}", contentType: "application/json", close: !head.isKeepAlive)
            return phase == .http ? .proceed : .pause
        }
        if head.headers.contains(name: "upgrade", token: "websocket") {
            handleUpgrade(head, module)
            return .pause
        }
        switch head.method {
        case .POST:
            handleCommandPost(head, module)
            return httpBusy || phase != .http ? .pause : .proceed
        case .GET, .HEAD:
            writeSimpleResponse(status: 426, body: "{\"error\":\"this path speaks WebSocket\"}", contentType: "application/json",
                                close: !head.isKeepAlive, extraHeaders: ["Upgrade": "websocket"])
        default:
            writeSimpleResponse(status: 405, body: "{\"error\":\"method not allowed\"}", contentType: "application/json",
                                close: !head.isKeepAlive, extraHeaders: ["Allow": "GET, POST"])
        }
        return phase == .http ? .proceed : .pause
    }

    /// Writes a complete response. Closes afterwards when asked or when the connection must end.
    func writeSimpleResponse(
        status: Int, body: String, contentType: String = "text/plain; charset=utf-8", close: Bool,
        extraHeaders: HTTPHeaders = HTTPHeaders(), head: Bool = false
    ) {
        var headers = extraHeaders
        headers.add(name: "Content-Type", value: contentType)
        let shouldClose = close || closeAfterResponse || context.draining
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: headers, contentLength: body.utf8.count, keepAlive: !shouldClose, into: &buf)
            if !head { buf.write(string: body) }
        }
        finishResponse(close: shouldClose)
    }

    /// After a response: close, or wait for the next request.
    func finishResponse(close: Bool) {
        if close {
            phase = .closed
            tcp.close()
        } else {
            tcp.deadline = context.loop.now &+ UInt64(context.limits.idleTimeoutSeconds) * 1_000_000_000
        }
    }

    // MARK: http[] proxy

    private func startProxy(_ head: HTTPRequestHead, _ route: HTTPProxyRoute) {
        let p = ProxyExchange(connection: self, head: head)
        httpBusy = true
        proxy = p
        if !p.start(head: head, route: route) {
            proxy = nil
            httpBusy = false
            writeSimpleResponse(status: 502, body: "{\"error\":\"cannot create a backend request\"}", contentType: "application/json", close: true)
        }
    }

    // MARK: POST <module path>

    private func handleCommandPost(_ head: HTTPRequestHead, _ module: ModuleRuntime) {
        context.metrics.httpCommands += 1
        let requestBody = http?.requestBody ?? ByteBuffer()
        let result: Result<JSONEnvelope, JSONEnvelopeError> = requestBody.withUnsafeReadableBytes { raw in
            Result { () throws(JSONEnvelopeError) in try JSONEnvelope.parse(raw) }
        }
        let parsed: JSONEnvelope
        switch result {
        case .success(let p):
            parsed = p
        case .failure(let error):
            writeEnvelopeResponse(command: nil, id: nil, error: GatewayReplyError(code: .badMessage, message: error.description, status: nil), keepAlive: head.isKeepAlive)
            return
        }
        let id: String? = parsed.id.map { r in requestBody.withUnsafeReadableBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[r]), as: UTF8.self) } }
        guard let route = module.router.route(for: parsed.cmd)?.route else {
            writeEnvelopeResponse(command: parsed.cmd, id: id, error: GatewayReplyError(code: .unknownCommand, message: "no route for command \"\(parsed.cmd)\"", status: nil), keepAlive: head.isKeepAlive)
            return
        }
        let pending = PendingCommand(head: head, module: module, route: route, command: parsed.cmd, id: id, data: parsed.data ?? 0..<0)
        if let hook = module.config.handshake {
            // The module's handshake hook guards its commands over plain HTTP too.
            authorizeCommand(hook, pending)
            return
        }
        executeCommand(pending, user: nil)
    }

    /// Runs an authorized `POST <module path>` command.
    func executeCommand(_ p: PendingCommand, user: String?) {
        let head = p.head, route = p.route, id = p.id
        let dataRange = p.data
        switch route.target {
        case .local(.echo):
            let ctx = context
            ctx.scratch.clear()
            (http?.requestBody ?? ByteBuffer()).withUnsafeReadableBytes { raw in
                let body = UnsafeRawBufferPointer(rebasing: raw[dataRange])
                deliverPush(command: p.command, body: body, bodyIsJSON: true, deliver: route.deliver)
                _ = MessageCodec.encodeReply(parser: .json, command: p.command, id: id, body: body, bodyIsJSON: true, requestBinary: false, into: &ctx.scratch)
            }
            writeScratchResponse(status: 200, keepAlive: head.isKeepAlive)
            resumeHTTP()
        case .url(let url):
            guard let r = context.backend.makeRequest() else {
                writeEnvelopeResponse(command: p.command, id: id, error: GatewayReplyError(code: .backendUnavailable, message: "cannot create a backend request", status: 503), keepAlive: head.isKeepAlive)
                resumeHTTP()
                return
            }
            r.url = url
            r.method = route.method
            r.hasBody = route.method != "GET"
            r.timeoutMs = route.timeoutMs ?? context.limits.backendTimeoutMs
            r.maxResponseBytes = context.limits.maxBackendResponseBytes
            (http?.requestBody ?? ByteBuffer()).withUnsafeReadableBytes { raw in r.body.write(UnsafeRawBufferPointer(rebasing: raw[dataRange])) }
            r.contentType = "application/json"
            addGatewayHeaders(r, command: p.command, seq: nil, session: nil, route: route,
                              traceID: ConnectionID.traceID(fromTraceparent: head.headers["traceparent"]))
            if let user { r.addHeader("Gateway-User", user) }
            let allowed = Set(p.module.forwardHeaders).union(route.forwardHeaders)
            for f in head.headers where allowed.contains(f.name.lowercased()) {
                r.addHeader(f.name, f.value)
            }
            let call = context.makeCall(kind: .httpCommand, command: p.command, id: id, binary: false, parser: .json,
                                        deliver: route.deliver, routeIndex: route.metricsIndex)
            r.context = call
            r.handler = self
            if !head.isKeepAlive { closeAfterResponse = true }
            httpBusy = true
            context.backend.start(r)
        }
    }

    func httpCommandCompleted(_ r: BackendRequest, call: CallContext) {
        httpBusy = false
        guard phase == .http else { return }
        if let e = r.error {
            writeEnvelopeResponse(command: call.command, id: call.id, error: Self.replyError(for: e), keepAlive: true)
        } else if !(200..<300).contains(r.response.status) {
            let st = r.response.status
            writeEnvelopeResponse(command: call.command, id: call.id, error: GatewayReplyError(code: .backendError, message: "backend answered \(st)", status: st), keepAlive: true)
        } else if r.response.status == 204 {
            let close = closeAfterResponse || context.draining
            tcp.write { HTTPResponseWriter.writeHead(status: 204, headers: HTTPHeaders(), contentLength: nil, keepAlive: !close, into: &$0) }
            finishResponse(close: close)
        } else {
            let ctx = context
            ctx.scratch.clear()
            let mediaIsJSON = r.response.contentTypeIsJSON
            var deliver = call.deliver
            if let h = r.response.header("gateway-deliver"), let d = Route.Deliver(header: h) { deliver = d }
            r.response.body.withUnsafeReadableBytes { body in
                let isJSON = MessageCodec.bodyIsJSON(typeIsJSON: mediaIsJSON, body: body)
                deliverPush(command: call.command, body: body, bodyIsJSON: isJSON, deliver: deliver)
                _ = MessageCodec.encodeReply(parser: .json, command: call.command, id: call.id, body: body,
                                             bodyIsJSON: isJSON, requestBinary: false, into: &ctx.scratch)
            }
            writeScratchResponse(status: 200, keepAlive: true)
        }
        resumeHTTP()
    }

    func writeEnvelopeResponse(command: String?, id: String?, error: GatewayReplyError, keepAlive: Bool) {
        let ctx = context
        ctx.scratch.clear()
        MessageCodec.encodeError(parser: .json, command: command, id: id, error: error, into: &ctx.scratch)
        writeScratchResponse(status: error.code.httpStatus, keepAlive: keepAlive)
    }

    /// Writes `context.scratch` as a JSON response.
    private func writeScratchResponse(status: Int, keepAlive: Bool) {
        let close = !keepAlive || closeAfterResponse || context.draining
        let ctx = context
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: ["Content-Type": "application/json"],
                                         contentLength: ctx.scratch.readableBytes, keepAlive: !close, into: &buf)
            buf.write(buffer: ctx.scratch)
        }
        finishResponse(close: close)
    }
}
