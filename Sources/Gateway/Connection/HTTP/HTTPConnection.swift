internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON
internal import Logging

/// A client connection while it speaks HTTP/1.1: a thin driver around `HTTPServerExchange` (which
/// decides pipelining, keep-alive, timeouts and refusals) that routes each request: `/healthz`,
/// `POST <module path>` commands, the WebSocket handshake (after which the socket is handed to a
/// `WebSocketConnection`), and `http[]` reverse proxying.
///
/// A byte transform (TLS) would sit below this class, between `TCPConnection` and
/// `connectionDidReceive`/`tcp.write`, so that neither this driver nor the exchange knows about it.
final class HTTPConnection: ClientHandler, BackendCallHandler {
    /// `unowned(unsafe)`: the loop's context outlives its connections.
    unowned(unsafe) let context: LoopContext
    let tcp: TCPConnection
    let identity: ClientIdentity
    var registryIndex = -1
    /// Requests, responses, keep-alive and timeouts.
    var exchange: HTTPServerExchange

    /// What the request being answered waits for.
    enum Pending {
        /// A `POST <module path>` command's backend call.
        case command(PendingCommand)
        /// The handshake hook authorizing a command.
        case authorization(PendingCommand)
        /// The handshake hook of a WebSocket upgrade.
        case handshake(PendingUpgrade)
        /// A reverse-proxied exchange.
        case proxy(ProxyExchange)
    }
    /// Set while a request is answered asynchronously.
    var pending: Pending?
    /// The handler the socket went to at the upgrade.
    var upgradedTo: WebSocketConnection?
    /// The module whose WebSocket handshake is being answered (nil otherwise): the response that
    /// ends it counts in the handshake metrics and the access log.
    var handshakeModule: String?
    private var socketClosed = false

    init(context: LoopContext, tcp: TCPConnection, identity: ClientIdentity) {
        self.context = context
        self.tcp = tcp
        self.identity = identity
        let limits = context.limits
        // The parser's body limit is the larger of the two; requests that are not proxied are held to
        // `maxRequestBodyBytes` as their body arrives.
        let bodyLimit = context.runtime.config.http.isEmpty ? limits.maxRequestBodyBytes : max(limits.maxRequestBodyBytes, limits.maxProxyBodyBytes)
        exchange = HTTPServerExchange(
            limits: HTTPParserLimits(
                maxRequestLineBytes: min(8192, limits.maxHeaderBytes), maxHeaderBytes: limits.maxHeaderBytes,
                maxHeaderCount: 100, maxBodyBytes: bodyLimit),
            policy: Self.policy(limits), now: context.loop.now)
        tcp.deadline = exchange.deadline
    }

    static func policy(_ limits: Limits) -> HTTPServerExchange.Policy {
        HTTPServerExchange.Policy(
            requestTimeoutNanos: UInt64(limits.handshakeTimeoutSeconds) * 1_000_000_000,
            keepAliveTimeoutNanos: UInt64(limits.idleTimeoutSeconds) * 1_000_000_000,
            maxBufferedBodyBytes: limits.maxRequestBodyBytes)
    }

    // MARK: ConnectionHandler

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        feed(bytes)
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        // Half-closed client: answer what is in progress, then close.
        if exchange.peerClosed() == .closeNow { tcp.close() }
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        if case .proxy(let p) = pending { p.clientDrained() }
    }

    func connectionDidTimeOut(_ connection: TCPConnection) {
        switch exchange.timedOut(now: context.loop.now) {
        case .closeIdle:
            tcp.close()
        case .requestTimeout:
            respond(status: 408, body: "request timeout\n", close: true)
        case .waitForResponse:
            break  // waiting for a backend: its own timeout applies
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        socketClosed = true
        if case .proxy(let p) = pending {
            pending = nil
            p.cancel()
        }
        context.closed(self)
    }

    // MARK: ClientHandler

    func beginDrain() {
        if exchange.drain() == .closeNow { tcp.close() }
    }

    func forceClose() {
        tcp.abort()
    }

    // MARK: Requests

    /// Parses `input` step by step: the exchange says what happened, this routes it.
    private func feed(_ input: UnsafeMutableRawBufferPointer) {
        var rest = input
        while true {
            let (consumed, step) = exchange.next(UnsafeRawBufferPointer(rest), now: context.loop.now)
            rest = UnsafeMutableRawBufferPointer(rebasing: rest[consumed...])
            switch step {
            case .needMoreBytes:
                tcp.deadline = exchange.deadline
                return
            case .head(let head, let continue100):
                if continue100 {
                    // The body will be read: say so now instead of making the client wait (curl waits 1 s).
                    tcp.write { $0.write(string: "HTTP/1.1 100 Continue\r\n\r\n") }
                }
                // Proxy routes are looked for only where there are some: the module lookup hashes the path.
                if !context.runtime.config.http.isEmpty, head.path != "/healthz",
                   context.runtime.modules[String(head.path)] == nil, let route = proxyRoute(for: head.path) {
                    startProxy(head, route)
                }
            case .body(let chunk):
                if case .proxy(let p) = pending { p.upload(chunk) }
            case .uploadEnd:
                if case .proxy(let p) = pending { p.finishUpload() }
            case .request(let head):
                dispatch(head)
                if let ws = upgradedTo {
                    // Frames that arrived in the same read as the upgrade request.
                    if !rest.isEmpty { ws.connectionDidReceive(tcp, rest) }
                    return
                }
            case .reject(let rejection):
                reject(rejection)
                return
            }
        }
    }

    /// Continues with bytes that arrived while a response was produced asynchronously.
    func resumeHeld() {
        guard exchange.state == .reading, exchange.hasHeldBytes else { return }
        var bytes = exchange.takeHeld()
        bytes.withUnsafeMutableReadableBytes { feed($0) }
    }

    /// A complete request: answer it, now or once a backend answered.
    private func dispatch(_ head: HTTPRequestHead) {
        let path = String(head.path)
        if path == "/healthz" && (head.method == .GET || head.method == .HEAD) {
            respond(status: 200, body: context.draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}",
                    contentType: "application/json", omitBody: head.method == .HEAD)
            return
        }
        guard let module = context.runtime.modules[path] else {
            respond(status: 404, body: "{\"error\":\"not found\"}", contentType: "application/json")
            return
        }
        if head.headers.contains(name: "upgrade", token: "websocket") {
            handleUpgrade(head, module)
            return
        }
        switch head.method {
        case .POST:
            handleCommandPost(head, module)
        case .GET, .HEAD:
            respond(status: 426, body: "{\"error\":\"this path speaks WebSocket\"}", contentType: "application/json",
                    extraHeaders: ["Upgrade": "websocket"])
        default:
            respond(status: 405, body: "{\"error\":\"method not allowed\"}", contentType: "application/json",
                    extraHeaders: ["Allow": "GET, POST"])
        }
    }

    /// Refuses a request the exchange found unacceptable, and closes.
    private func reject(_ rejection: HTTPServerRejection) {
        switch rejection {
        case .missingHost:
            // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
            respond(status: 400, body: "{\"error\":\"missing Host header\"}", contentType: "application/json", close: true)
        case .bodyTooLarge(let limit):
            // Said in the wire format's terms, since the body is most likely a command envelope.
            writeEnvelopeResponse(command: nil, id: nil, error: GatewayReplyError(
                code: .tooLarge, message: "request body larger than \(limit) bytes", status: 413), close: true)
        case .malformed(let error):
            context.logger.debug("bad request from \(tcp.remoteAddress?.description ?? "?"): \(error)")
            tcp.write { HTTPResponseWriter.writeError(error, into: &$0) }
            tcp.close()
        }
    }

    // MARK: Responses

    /// Writes a complete response, then closes or waits for the next request.
    func respond(
        status: Int, body: String, contentType: String = "text/plain; charset=utf-8", close: Bool = false,
        extraHeaders: HTTPHeaders = HTTPHeaders(), omitBody: Bool = false
    ) {
        var headers = extraHeaders
        headers.add(name: "Content-Type", value: contentType)
        if let module = handshakeModule { handshakeFinished(status: status, module: module, user: nil) }
        let keepAlive = exchange.respond(close: close || context.draining, now: context.loop.now)
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: headers, contentLength: body.utf8.count, keepAlive: keepAlive, into: &buf)
            if !omitBody { buf.write(string: body) }
        }
        finishResponse(keepAlive: keepAlive)
    }

    /// After a response: close, or wait for the next request.
    func finishResponse(keepAlive: Bool) {
        if keepAlive {
            tcp.deadline = exchange.deadline
        } else {
            tcp.close()
        }
    }

    /// Whether the response being produced will keep the connection open (for a head written before
    /// the response is complete).
    var keepsAliveAfterResponse: Bool { exchange.keepsAlive(close: context.draining) }

    /// Whether the request being answered is still wanted (the connection did not close meanwhile).
    var isAnswering: Bool {
        guard !socketClosed else { return false }
        switch exchange.state {
        case .answering, .streaming: return true
        case .reading, .closing, .upgraded: return false
        }
    }

    /// `{"error":"<message>"}` as a JSON string literal.
    static func jsonString(_ s: String) -> String {
        var b = ByteBuffer()
        JSONWriter.writeString(s, into: &b)
        return b.description
    }

    // MARK: Backend answers

    func backendCallDidComplete(_ call: BackendCall) {
        switch (call.purpose, pending) {
        case (.handshake, .handshake(let p)?):
            pending = nil
            handshakeHookCompleted(call, p)
        case (.commandAuth, .authorization(let p)?):
            pending = nil
            commandAuthCompleted(call, p)
        case (.httpCommand, .command(let p)?):
            pending = nil
            context.recordCall(call, routeIndex: p.route.metricsIndex)
            httpCommandCompleted(call, p)
        default:
            break
        }
    }
}
