public import GatewayBuffers

/// Serialises HTTP/1.1 responses into a `ByteBuffer`. No `Date` header is written (RFC 9110 §6.6.1
/// lets a server without a reliable clock omit it, and it would cost a clock read per response).
///
/// Header fields are written as given, except that a field whose name is not a token is skipped and
/// CR, LF and NUL in values are written as SP, so a value taken from a backend cannot split the
/// response.
public enum HTTPResponseWriter {
    /// Writes the status line, `headers`, framing fields and the empty line.
    ///
    /// - Parameters:
    ///   - status: the status code. One outside 100–999 (say, relayed from a misbehaving backend)
    ///     would make the status line invalid, so it is written as 500.
    ///   - headers: fields to send, in order.
    ///   - contentLength: written as `Content-Length` unless `headers` already has one; pass nil for
    ///     1xx and 204 responses (RFC 9110 §8.6 forbids it there) or when `headers` frames the body.
    ///   - keepAlive: when false, `Connection: close` is added (unless `headers` already says close).
    ///   - buffer: the buffer to append to.
    public static func writeHead(
        status: Int, headers: HTTPHeaders, contentLength: Int?, keepAlive: Bool, into buffer: inout ByteBuffer
    ) {
        let status = (100...999).contains(status) ? status : 500
        buffer.write(string: "HTTP/1.1 ")
        buffer.write(decimal: status)
        buffer.write(byte: HTTPBytes.space)
        buffer.write(string: reasonPhrase(for: status))
        buffer.write(string: "\r\n")
        var hasContentLength = false
        var hasConnectionClose = false
        for field in headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(HTTPBytes.isToken) else { continue }
            if HTTPHeaders.equalsIgnoringCase(field.name, "content-length") { hasContentLength = true }
            buffer.write(string: field.name)
            buffer.write(string: ": ")
            if field.value.utf8.contains(where: isUnsafeInValue) {
                for c in field.value.utf8 { buffer.write(byte: isUnsafeInValue(c) ? HTTPBytes.space : c) }
            } else {
                buffer.write(string: field.value)
            }
            buffer.write(string: "\r\n")
        }
        if !keepAlive {
            hasConnectionClose = headers.contains(name: "connection", token: "close")
        }
        if let contentLength, !hasContentLength {
            buffer.write(string: "Content-Length: ")
            buffer.write(decimal: contentLength)
            buffer.write(string: "\r\n")
        }
        if !keepAlive, !hasConnectionClose {
            buffer.write(string: "Connection: close\r\n")
        }
        buffer.write(string: "\r\n")
    }

    /// Writes a complete response with `body`, framed by `Content-Length`. For 1xx, 204 and 304
    /// responses neither `Content-Length` nor the body is written (they cannot have content).
    public static func write(
        status: Int, headers: HTTPHeaders, body: UnsafeRawBufferPointer, keepAlive: Bool, into buffer: inout ByteBuffer
    ) {
        let noContent = (100..<200).contains(status) || status == 204 || status == 304
        writeHead(
            status: status, headers: headers, contentLength: noContent ? nil : body.count, keepAlive: keepAlive,
            into: &buffer)
        if !noContent, !body.isEmpty { buffer.write(body) }
    }

    /// Writes the response for a request the parser rejected: the mapped status, a short
    /// `text/plain` body holding the reason phrase, and `Connection: close` (after a parse error the
    /// framing of the connection is lost, so it must be closed). The error's `description` is not
    /// sent, since it may quote request bytes.
    public static func writeError(_ error: HTTPParseError, into buffer: inout ByteBuffer) {
        let status = error.status
        var body = reasonPhrase(for: status)
        body += "\n"
        let headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        writeHead(status: status, headers: headers, contentLength: body.utf8.count, keepAlive: false, into: &buffer)
        buffer.write(string: body)
    }

    /// Bytes that would end a field line early: CR, LF, NUL.
    @inline(__always)
    static func isUnsafeInValue(_ c: UInt8) -> Bool {
        c == HTTPBytes.cr || c == HTTPBytes.lf || c == 0
    }

    /// The reason phrase for `status`: the statuses of RFC 9110 §15, plus 428, 429 and 431 from
    /// RFC 6585. Anything else is "Unknown".
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 305: "Use Proxy"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }
}
