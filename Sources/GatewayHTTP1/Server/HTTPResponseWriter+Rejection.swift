public import GatewayBuffers

extension HTTPResponseWriter {
    /// Writes the plain response for a request `HTTPServerExchange` refused: its status, a
    /// `text/plain` body holding the reason phrase, and `Connection: close` (the exchange closes after
    /// a refusal). Servers with a wire format of their own (the gateway's JSON envelopes) write theirs.
    public static func writeRejection(_ rejection: HTTPServerRejection, into buffer: inout ByteBuffer) {
        if case .malformed(let error) = rejection {
            writeError(error, into: &buffer)
            return
        }
        let status = rejection.status
        let body = reasonPhrase(for: status) + "\n"
        let headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        writeHead(status: status, headers: headers, contentLength: body.utf8.count, keepAlive: false, into: &buffer)
        buffer.write(string: body)
    }
}
