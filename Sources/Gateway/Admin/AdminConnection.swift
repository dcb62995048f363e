internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON

/// One HTTP/1.1 connection to the admin API. Requests are answered one at a time, in order; a
/// request that needs other loops pauses parsing until their answers are in.
final class AdminConnection: ConnectionHandler {
    unowned let server: AdminServer
    let tcp: TCPConnection
    var parser = HTTPRequestParser(limits: HTTPParserLimits(maxBodyBytes: 1_048_576))
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var busy = false
    var held = ByteBuffer()
    var closeAfter = false

    init(server: AdminServer, tcp: TCPConnection) {
        self.server = server
        self.tcp = tcp
        tcp.deadline = server.context.loop.now &+ 30_000_000_000
    }

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        if busy || !held.isEmpty {
            held.write(UnsafeRawBufferPointer(bytes))
            if !busy { resume() }
            return
        }
        parse(UnsafeRawBufferPointer(bytes))
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        if busy { closeAfter = true } else { tcp.close() }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidTimeOut(_ connection: TCPConnection) {
        if busy { tcp.deadline = server.context.loop.now &+ 5_000_000_000 } else { tcp.close() }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {}

    private func resume() {
        guard !busy, !held.isEmpty else { return }
        let bytes = held
        held = ByteBuffer()
        bytes.withUnsafeReadableBytes { parse($0) }
    }

    private func parse(_ input: UnsafeRawBufferPointer) {
        let consumed: Int
        do {
            consumed = try parser.feed(input) { event in
                switch event {
                case .head(let h):
                    head = h
                    body.clear()
                    return .proceed
                case .body(let chunk):
                    body.write(chunk)
                    return .proceed
                case .end:
                    busy = true
                    if let h = head { handle(h) }
                    return busy ? .pause : .proceed
                }
            }
        } catch {
            tcp.write { HTTPResponseWriter.writeError(error, into: &$0) }
            tcp.close()
            return
        }
        if consumed < input.count { held.write(UnsafeRawBufferPointer(rebasing: input[consumed...])) }
    }

    /// Writes a JSON response and continues with the next request.
    func respond(_ status: Int, json: String, headers: HTTPHeaders = HTTPHeaders()) {
        respond(status, body: Array(json.utf8), contentType: "application/json", headers: headers)
    }

    func respond(_ status: Int, body: [UInt8], contentType: String, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        h.add(name: "Content-Type", value: contentType)
        let keepAlive = (head?.isKeepAlive ?? false) && !closeAfter
        let isHead = head?.method == .HEAD
        tcp.write { buf in
            HTTPResponseWriter.writeHead(status: status, headers: h, contentLength: body.count, keepAlive: keepAlive, into: &buf)
            if !isHead { buf.write(contentsOf: body) }
        }
        busy = false
        tcp.deadline = server.context.loop.now &+ 30_000_000_000
        if !keepAlive {
            tcp.close()
            return
        }
        resume()
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
