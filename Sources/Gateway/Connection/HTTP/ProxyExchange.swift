internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import Logging

/// One request reverse-proxied to an `http[]` backend, streamed both ways: request body pieces go to
/// the backend as they arrive (the client is paused when the backend is slower), and the response is
/// written to the client as it comes (the backend is paused when the client is slower).
final class ProxyExchange: BackendStreamHandler {
    unowned let connection: HTTPConnection
    let stream = BackendStream()
    let isHead: Bool
    let http10: Bool
    /// The response head has been written to the client.
    private(set) var headWritten = false
    /// The response ends the client connection (close-delimited, or its head said `close`).
    private(set) var closesConnection = false
    /// The response body is sent chunked (the backend's length was unknown).
    private(set) var chunked = false
    /// How much the client may have queued before the backend is paused. 1 MiB keeps a fast backend
    /// streaming without letting a slow client grow memory.
    static let clientHighWater = 1 << 20

    init(connection: HTTPConnection, head: HTTPRequestHead) {
        self.connection = connection
        self.isHead = head.method == .HEAD
        self.http10 = head.version == .http1_0
    }

    /// Starts the backend exchange.
    func start(head: HTTPRequestHead, route: HTTPProxyRoute) {
        let ctx = connection.context
        let length = head.headers["content-length"].flatMap { Int($0.trimmingOWS()) }
        let hasBody = (length ?? 0) > 0 || head.headers["transfer-encoding"] != nil
        stream.spec.fillProxy(
            head: head, route: route, clientAddress: connection.tcp.remoteAddress?.hostString ?? "unknown", hasBody: hasBody,
            limits: ctx.limits, traceRNG: &ctx.traceRNG)
        stream.streamsUpload = hasBody
        stream.uploadLength = length
        stream.handler = self
        ctx.metrics.proxyRequests += 1
        ctx.backend.startStream(stream)
    }

    /// A piece of the client's request body.
    func upload(_ bytes: UnsafeRawBufferPointer) {
        guard stream.streamsUpload else { return }
        stream.appendUpload(bytes)
        if stream.uploadBacklog > 4 * BackendStream.uploadLowWater { connection.tcp.pauseReading() }
    }

    /// The client's request body is complete.
    func finishUpload() {
        guard stream.streamsUpload else { return }
        stream.finishUpload()
    }

    /// The client cannot be written to any more: stop the backend exchange.
    func cancel() {
        connection.context.backend.cancel(stream)
    }

    /// The client drained its queue: let the backend deliver again.
    func clientDrained() {
        stream.resumeDownload()
    }

    // MARK: BackendStreamHandler

    func backendStream(_ stream: BackendStream, didReceiveHead status: Int, headers: [(name: String, value: String)]) {
        var out = HTTPHeaders()
        var length: Int?
        // Fields the backend names in its Connection header are hop-by-hop too (RFC 9110 §7.6.1).
        var drop = BackendCallSpec.hopByHop
        for h in headers where h.name.lowercased() == "connection" {
            for t in h.value.split(separator: ",") { drop.insert(String(t).trimmingOWS().lowercased()) }
        }
        for h in headers {
            let lower = h.name.lowercased()
            if lower == "content-length" { length = Int(h.value.trimmingOWS()); continue }
            // Gateway-* response fields are the gateway protocol's, never the client's business.
            if drop.contains(lower) || lower.hasPrefix("gateway-") { continue }
            out.add(name: h.name, value: h.value)
        }
        let noBody = isHead || status == 204 || status == 304 || status < 200
        var keepAlive = connection.keepsAliveAfterResponse
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
            keepAlive = false
        }
        let cl = isHead ? nil : contentLength
        connection.tcp.write { HTTPResponseWriter.writeHead(status: status, headers: out, contentLength: cl, keepAlive: keepAlive, into: &$0) }
        if !keepAlive { closesConnection = true }
        headWritten = true
    }

    func backendStream(_ stream: BackendStream, didReceiveBody chunk: UnsafeRawBufferPointer) -> Bool {
        let tcp = connection.tcp
        guard tcp.isWritable else { return true }  // client gone: discard
        if tcp.queuedBytes > Self.clientHighWater {
            tcp.notifyWhenDrained = true
            return false
        }
        if isHead || chunk.isEmpty { return true }
        let chunked = self.chunked
        tcp.write { buf in
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

    func backendStreamUploadDrained(_ stream: BackendStream) {
        connection.tcp.resumeReading()
    }

    func backendStream(_ stream: BackendStream, didFinishWith error: BackendError?) {
        connection.proxyFinished(self, error: error)
    }
}
