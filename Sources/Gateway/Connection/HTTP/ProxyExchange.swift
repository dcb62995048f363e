internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import Logging

/// One request reverse-proxied to an `http[]` backend, streamed both ways: request body pieces go to
/// libcurl as they arrive (the client is paused when the backend is slower), and the response is
/// written to the client as libcurl delivers it (libcurl is paused when the client is slower).
final class ProxyExchange: BackendStreamHandler, BackendResponseHandler {
    unowned let connection: ClientConnection
    var request: BackendRequest?
    let isHead: Bool
    let http10: Bool
    let clientKeepAlive: Bool
    var headWritten = false
    /// The client's request (head and body) has been read completely.
    var uploadDone = false
    var chunked = false
    var closeDelimited = false
    /// How much the client may have queued before the backend is paused. 1 MiB keeps a fast backend
    /// streaming without letting a slow client grow memory.
    static let clientHighWater = 1 << 20

    /// Hop-by-hop fields (RFC 9110 §7.6.1) plus the framing fields the gateway sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    init(connection: ClientConnection, head: HTTPRequestHead) {
        self.connection = connection
        self.isHead = head.method == .HEAD
        self.http10 = head.version == .http1_0
        self.clientKeepAlive = head.isKeepAlive
    }

    /// Starts the backend call. Returns false when no request could be made.
    func start(head: HTTPRequestHead, route: HTTPProxyRoute) -> Bool {
        let ctx = connection.context
        guard let r = ctx.backend.makeRequest() else { return false }
        let path = head.path
        let rest = path.dropFirst(route.prefix.count)
        var url = route.url + rest
        if !head.query.isEmpty { url += "?" + head.query }
        r.url = url
        r.method = head.method.description
        r.timeoutMs = route.timeoutMs ?? ctx.limits.backendTimeoutMs
        r.maxResponseBytes = ctx.limits.maxProxyBodyBytes
        r.stream = self
        r.handler = self
        let length = head.headers["content-length"].flatMap { Int($0.trimmedSpaces()) }
        let hasBody = (length ?? 0) > 0 || head.headers["transfer-encoding"] != nil
        r.streamUpload = hasBody
        r.uploadLength = length
        r.hasBody = false
        r.contentType = ""
        // Names listed in Connection are hop-by-hop too.
        var drop = Self.hopByHop
        for t in head.headers.tokens(name: "connection") { drop.insert(t.lowercased()) }
        // Set by the gateway itself: a client's values could forge the host or scheme a backend sees.
        drop.formUnion(["host", "content-length", "expect", "traceparent", "x-forwarded-host", "x-forwarded-proto"])
        var sawAccept = false
        var forwardedFor: String?
        for f in head.headers {
            let lower = f.name.lowercased()
            if drop.contains(lower) || lower.hasPrefix("gateway-") { continue }
            if lower == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { $0 + ", " + f.value } ?? f.value
                continue
            }
            if lower == "accept" { sawAccept = true }
            r.addHeader(f.name, f.value)
        }
        if !sawAccept { r.addHeader("Accept", "") }  // keep libcurl from adding its own
        if !hasBody { r.addHeader("Content-Type", "") }
        let client = connection.tcp.remoteAddress?.hostString ?? "unknown"
        r.addHeader("X-Forwarded-For", forwardedFor.map { $0 + ", " + client } ?? client)
        r.addHeader("X-Forwarded-Proto", "http")
        let host = head.headers["host"].map { ClientConnection.headerSafe($0) }
        if let host { r.addHeader("X-Forwarded-Host", host) }
        let forNode = client.contains(":") ? "\"[\(client)]\"" : client
        r.addHeader("Forwarded", "for=\(forNode);proto=http" + (host.map { ";host=\"\($0)\"" } ?? ""))
        ctx.addTraceparent(to: r, continuing: ConnectionID.traceID(fromTraceparent: head.headers["traceparent"]))
        request = r
        ctx.metrics.proxyRequests += 1
        ctx.backend.start(r)
        return true
    }

    /// A piece of the client's request body.
    func upload(_ bytes: UnsafeRawBufferPointer) {
        guard let r = request, r.streamUpload else { return }
        r.appendUpload(bytes)
        if r.uploadBacklog > 4 * BackendRequest.uploadLowWater { connection.tcp.pauseReading() }
    }

    /// The client's request body is complete.
    func finishUpload() {
        uploadDone = true
        guard let r = request, r.streamUpload else { return }
        r.finishUpload()
    }

    /// The client cannot be written to any more: stop the backend call.
    func cancel() {
        if let r = request { connection.context.backend.cancel(r) }
    }

    /// The client drained its queue: let libcurl deliver again.
    func clientDrained() {
        request?.resumeDownload()
    }

    // MARK: BackendStreamHandler

    func backendResponseHead(_ request: BackendRequest, status: Int, headers: [(name: String, value: String)]) {
        var out = HTTPHeaders()
        var length: Int?
        // Fields the backend names in its Connection header are hop-by-hop too (RFC 9110 §7.6.1).
        var drop = Self.hopByHop
        for h in headers where h.name.lowercased() == "connection" {
            for t in h.value.split(separator: ",") { drop.insert(String(t).trimmedSpaces().lowercased()) }
        }
        for h in headers {
            let lower = h.name.lowercased()
            if lower == "content-length" { length = Int(h.value.trimmedSpaces()); continue }
            // Gateway-* response fields are the gateway protocol's, never the client's business.
            if drop.contains(lower) || lower.hasPrefix("gateway-") { continue }
            out.add(name: h.name, value: h.value)
        }
        let noBody = isHead || status == 204 || status == 304 || status < 200
        var keepAlive = clientKeepAlive && !connection.closeAfterResponse && !connection.context.draining
        var contentLength: Int?
        if noBody {
            contentLength = isHead ? length : nil
            if isHead, let length { out.add(name: "Content-Length", value: String(length)) }
        } else if let length {
            contentLength = length
        } else if !http10 {
            chunked = true
            out.add(name: "Transfer-Encoding", value: "chunked")
        } else {
            closeDelimited = true
            keepAlive = false
        }
        let cl = isHead ? nil : contentLength
        connection.tcp.write { HTTPResponseWriter.writeHead(status: status, headers: out, contentLength: cl, keepAlive: keepAlive, into: &$0) }
        if !keepAlive { connection.closeAfterResponse = true }
        headWritten = true
    }

    func backendResponseBody(_ request: BackendRequest, _ chunk: UnsafeRawBufferPointer) -> Bool {
        guard connection.tcp.isWritable else { return true }  // client gone: discard
        if connection.tcp.queuedBytes > Self.clientHighWater {
            connection.tcp.notifyWhenDrained = true
            return false
        }
        if isHead || chunk.isEmpty { return true }
        connection.tcp.write { buf in
            if chunked {
                buf.write(string: String(chunk.count, radix: 16))
                buf.write(string: "\r\n")
                buf.write(chunk)
                buf.write(string: "\r\n")
            } else {
                buf.write(chunk)
            }
        }
        return true
    }

    func backendUploadDrained(_ request: BackendRequest) {
        connection.tcp.resumeReading()
    }

    // MARK: BackendResponseHandler

    func backendRequestDidComplete(_ request: BackendRequest) {
        self.request = nil
        connection.proxyFinished(self, error: request.error)
    }
}

extension ClientConnection {
    /// The `http[]` route for a path: the longest matching prefix.
    func proxyRoute(for path: Substring) -> HTTPProxyRoute? {
        var best: HTTPProxyRoute?
        for r in context.runtime.config.http where path.hasPrefix(r.prefix) {
            if best == nil || r.prefix.count > (best?.prefix.count ?? 0) { best = r }
        }
        return best
    }

    /// Called when a proxied exchange ends, successfully or not.
    func proxyFinished(_ p: ProxyExchange, error: BackendError?) {
        proxy = nil
        httpBusy = false
        tcp.notifyWhenDrained = false
        guard phase == .http else { return }
        if let error {
            if p.headWritten {
                // Mid-response failure: the only honest signal left is to drop the connection.
                context.logger.warning("proxy \(error) after the response started; closing the client connection")
                phase = .closed
                tcp.abort()
                return
            }
            let (status, message): (Int, String) = switch error {
            case .timeout: (504, "backend timeout")
            case .responseTooLarge: (502, "backend response too large")
            case .cancelled: (503, "gateway shutting down")
            default: (502, "bad gateway: \(error)")
            }
            writeSimpleResponse(status: status, body: "{\"error\":\(Self.jsonString(message))}", contentType: "application/json", close: true)
            return
        }
        if p.chunked { tcp.write { $0.write(string: "0\r\n\r\n") } }
        let close = closeAfterResponse || p.closeDelimited || !p.clientKeepAlive || context.draining
        finishResponse(close: close)
        if !close {
            tcp.resumeReading()
            resumeHTTP()
        }
    }
}
