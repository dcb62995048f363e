internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON

/// One HTTP/1.1 connection to the admin API, driving an `HTTPServerExchange`: requests are
/// answered one at a time, in order; a request that needs other loops leaves the exchange waiting
/// (pipelined requests held) until their answers are in.
final class AdminConnection: ConnectionHandler {
    unowned let server: AdminServer
    let tcp: TCPConnection
    var exchange: HTTPServerExchange
    /// Serving `GET /v1/stream`: the exchange is done with, input is ignored, and the timer writes
    /// a frame per interval until the connection closes.
    var streaming = false
    var streamTimer: LoopTimer?
    /// An admin request that waits for other loops gets this long more at each timeout.
    static let answerGraceNanos: UInt64 = 5_000_000_000

    /// The admin API's own policy: 30 s for a request and between requests, 1 MiB bodies, no
    /// `Host` required (operators' scripts address it by IP) and no `100 Continue` (bodies are small).
    static let policy = HTTPServerExchange.Policy(
        requestTimeoutNanos: 30_000_000_000, keepAliveTimeoutNanos: 30_000_000_000, maxBufferedBodyBytes: 1_048_576,
        requireHost: false, answerContinue: false)

    init(server: AdminServer, tcp: TCPConnection) {
        self.server = server
        self.tcp = tcp
        exchange = HTTPServerExchange(limits: HTTPParserLimits(maxBodyBytes: 1_048_576), policy: Self.policy, now: server.context.loop.now)
        tcp.deadline = exchange.deadline
    }

    /// The body of the request being answered.
    var body: ByteBuffer { exchange.requestBody }

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        if streaming { return }
        feed(UnsafeRawBufferPointer(bytes))
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        if streaming || exchange.peerClosed() == .closeNow { tcp.close() }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidTimeOut(_ connection: TCPConnection) {
        if streaming {
            tcp.close()   // the stream's ticks push the deadline on; reaching it means the loop stalled them
            return
        }
        if exchange.timedOut(now: server.context.loop.now) == .waitForResponse {
            tcp.deadline = server.context.loop.now &+ Self.answerGraceNanos
        } else {
            tcp.close()
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        endStream()
    }

    private func feed(_ input: UnsafeRawBufferPointer) {
        var rest = input
        while true {
            let (consumed, step) = exchange.next(rest, now: server.context.loop.now)
            rest = UnsafeRawBufferPointer(rebasing: rest[consumed...])
            switch step {
            case .needMoreBytes:
                tcp.deadline = exchange.deadline
                return
            case .head, .body, .uploadEnd:
                continue
            case .request(let head):
                handle(head)
            case .reject(let rejection):
                tcp.write { HTTPResponseWriter.writeRejection(rejection, into: &$0) }
                tcp.close()
                return
            }
        }
    }

    /// Writes a JSON response and continues with the next request.
    func respond(_ status: Int, json: String, headers: HTTPHeaders = HTTPHeaders()) {
        respond(status, body: Array(json.utf8), contentType: "application/json", headers: headers)
    }

    func respond(_ status: Int, body: [UInt8], contentType: String, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        h.add(name: "Content-Type", value: contentType)
        let isHead = exchange.currentHead?.method == .HEAD
        let keepAlive = exchange.respond(now: server.context.loop.now)
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: h, contentLength: body.count, keepAlive: keepAlive, into: &buf)
            if !isHead { buf.write(contentsOf: body) }
        }
        guard keepAlive else {
            tcp.close()
            return
        }
        tcp.deadline = exchange.deadline
        if exchange.hasHeldBytes {
            let held = exchange.takeHeld()
            held.withUnsafeReadableBytes { feed($0) }
        }
    }

    /// `{"error":"<message>"}` with `status` (and `Allow` for 405, as RFC 9110 §15.5.6 requires).
    func fail(_ status: Int, _ message: String, allow: String? = nil) {
        var b = ByteBuffer()
        b.write(string: "{\"error\":")
        JSONWriter.writeString(message, into: &b)
        b.write(byte: UInt8(ascii: "}"))
        var h = HTTPHeaders()
        if status == 401 { h.add(name: "WWW-Authenticate", value: "Bearer realm=\"gateway-admin\"") }
        if let allow { h.add(name: "Allow", value: allow) }
        respond(status, body: b.readableArray, contentType: "application/json", headers: h)
    }
}
