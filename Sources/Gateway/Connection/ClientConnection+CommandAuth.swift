internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import Logging

/// A `POST <module path>` command that is parsed and routed, waiting for authorization.
final class PendingCommand {
    let head: HTTPRequestHead
    let module: ModuleRuntime
    let route: Route
    let command: String
    let id: String?
    /// Byte range of `data` in the connection's `requestBody`.
    let data: Range<Int>

    init(head: HTTPRequestHead, module: ModuleRuntime, route: Route, command: String, id: String?, data: Range<Int>) {
        self.head = head
        self.module = module
        self.route = route
        self.command = command
        self.id = id
        self.data = data
    }
}

extension ClientConnection {
    /// A module with a handshake hook guards plain-HTTP commands with the same hook: it receives the
    /// same JSON (path, query, headers, remote address) and its verdict applies. 2xx runs the command
    /// (`Gateway-Set-User` becomes its `Gateway-User`); any other status is returned as is; an
    /// unreachable hook gives 503.
    func authorizeCommand(_ url: String, _ p: PendingCommand) {
        guard let r = context.backend.makeRequest() else {
            writeSimpleResponse(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json", close: true)
            return
        }
        r.url = url
        r.timeoutMs = p.module.config.hookTimeoutMs ?? context.limits.backendTimeoutMs
        r.maxResponseBytes = context.limits.maxBackendResponseBytes
        r.body = hookRequestBody(head: p.head, subprotocols: [])
        r.addHeader("Gateway-Connection-Id", id)
        context.addTraceparent(to: r, continuing: ConnectionID.traceID(fromTraceparent: p.head.headers["traceparent"]))
        r.context = context.makeCall(kind: .commandAuth, command: p.command, id: p.id, binary: false, parser: .json)
        r.handler = self
        pendingCommand = p
        if !p.head.isKeepAlive { closeAfterResponse = true }
        httpBusy = true
        context.backend.start(r)
    }

    func commandAuthCompleted(_ r: BackendRequest) {
        httpBusy = false
        guard phase == .http, let p = pendingCommand else { return }
        pendingCommand = nil
        if let e = r.error {
            context.logger.warning("handshake hook \(p.module.config.handshake ?? "") failed for a POST command: \(e)")
            writeSimpleResponse(status: 503, body: "{\"error\":\"handshake hook unavailable\"}", contentType: "application/json", close: false)
            resumeHTTP()
            return
        }
        let status = r.response.status
        guard (200..<300).contains(status) else {
            writeSimpleResponse(status: status, body: r.response.body.description,
                                contentType: r.response.header("content-type") ?? "text/plain; charset=utf-8", close: false)
            resumeHTTP()
            return
        }
        let user = r.response.header("gateway-set-user").map { Self.headerSafe($0).trimmedSpaces() }.flatMap { $0.isEmpty ? nil : $0 }
        executeCommand(p, user: user)
    }
}
