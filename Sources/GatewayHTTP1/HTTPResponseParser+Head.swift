/// Parsing a complete head: status line, field lines, and the body framing they announce
/// (RFC 9112 §6.3). Everything here is a pure function of the bytes and the request they answer.
extension HTTPResponseParser {
    /// A parsed head, how its body is delimited (nil: no body), and whether the connection must
    /// close after it.
    struct ParsedHead {
        var head: HTTPResponseHead
        var framing: HTTPBodyReader.Framing?
        var mustClose: Bool
        /// How many fields were recorded in the `spans` passed to `parseHead`.
        var spanCount = 0
    }

    /// Where one field's name and value lie in the head's bytes, recorded by `parseHead` so that
    /// the fields can be reported without splitting the lines a second time.
    struct FieldSpan {
        var nameStart: Int32
        var nameCount: Int32
        var valueStart: Int32
        var valueCount: Int32
    }

    /// Parses a complete head: `raw` is the status line and field lines, each ending in LF or CRLF,
    /// followed by the empty line (the scanner guarantees the line structure and the size limits).
    /// `fieldCount` (the number of field lines the scanner saw) sizes the fields array up front.
    ///
    /// - Parameters:
    ///   - headRequest: whether the response answers a HEAD request.
    ///   - maxBodyBytes: the body limit, checked here against `Content-Length`.
    ///   - collectFields: whether the head's `headers` are filled in; when false the fields are only
    ///     validated and interpreted for framing, and the head is built without allocating for them.
    static func parseHead(
        _ raw: UnsafeRawBufferPointer, fieldCount: Int, headRequest: Bool, maxBodyBytes: Int,
        collectFields: Bool = true, policy: HTTPFramingPolicy, spans: UnsafeMutableBufferPointer<FieldSpan>? = nil
    ) throws(HTTPResponseParseError) -> ParsedHead {
        guard let statusEnd = HTTPBytes.firstLF(in: raw, from: 0) else { throw .invalidStatusLine }
        let (version, status, reason) = try parseStatusLine(HTTPFieldLines.line(in: raw, from: 0, lf: statusEnd))
        // RFC 9112 §6.3 rules 1–2: these have no content whatever their fields say, so the framing
        // fields are not interpreted (a HEAD response's Content-Length is the GET body's size).
        let bodyAllowed = !headRequest && status >= 200 && status != 204 && status != 304

        var fields: [(name: String, value: String)] = []
        if collectFields { fields.reserveCapacity(fieldCount) }
        var contentLength: Int?
        var hasTransferEncoding = false
        var codings = 0
        var chunkedCount = 0
        var chunkedLast = false
        var connectionClose = false
        var connectionKeepAlive = false
        var spanCount = 0
        let rawBase = raw.baseAddress
        try HTTPFieldLines.forEach(in: raw, from: statusEnd + 1, policy: policy, map: HTTPResponseParseError.init) {
            name, value throws(HTTPResponseParseError) in
            if let spans, spanCount < spans.count, let rawBase, let n = name.baseAddress, let v = value.baseAddress {
                spans[spanCount] = FieldSpan(
                    nameStart: Int32(truncatingIfNeeded: rawBase.distance(to: n)), nameCount: Int32(truncatingIfNeeded: name.count),
                    valueStart: Int32(truncatingIfNeeded: rawBase.distance(to: v)), valueCount: Int32(truncatingIfNeeded: value.count))
            }
            spanCount += 1
            if bodyAllowed, HTTPHeaders.equalsIgnoringCase(name, "content-length") {
                guard let length = HTTPFieldLines.contentLength(value) else {
                    throw .invalidContentLength(String(decoding: value, as: UTF8.self))
                }
                if let contentLength, contentLength != length {
                    throw .invalidContentLength(String(decoding: value, as: UTF8.self))
                }
                contentLength = length
            } else if bodyAllowed, HTTPHeaders.equalsIgnoringCase(name, "transfer-encoding") {
                hasTransferEncoding = true
                HTTPFieldLines.forEachListElement(value) { coding in
                    let isChunked = HTTPHeaders.equalsIgnoringCase(coding, "chunked")
                    codings += 1
                    if isChunked { chunkedCount += 1 }
                    chunkedLast = isChunked
                }
            } else if HTTPHeaders.equalsIgnoringCase(name, "connection") {
                HTTPFieldLines.forEachListElement(value) { option in
                    if HTTPHeaders.equalsIgnoringCase(option, "close") {
                        connectionClose = true
                    } else if HTTPHeaders.equalsIgnoringCase(option, "keep-alive") {
                        connectionKeepAlive = true
                    }
                }
            }
            if collectFields {
                fields.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            }
        }

        let framing: HTTPBodyReader.Framing?
        if !bodyAllowed {
            framing = nil
        } else if hasTransferEncoding {
            // RFC 9112 §6.3 rule 3: CL with TE "ought to be handled as an error"; TE in HTTP/1.0 is
            // faulty framing. We decode only `chunked`, which must be the last coding, applied once
            // (§6.1); codings before it stay in the (de-chunked) body, as the header says.
            guard contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard version != .http1_0 else { throw .transferEncodingInHTTP10 }
            guard codings > 0, chunkedLast, chunkedCount == 1 else {
                var values: [String] = []
                try HTTPFieldLines.forEach(in: raw, from: statusEnd + 1, policy: policy, map: HTTPResponseParseError.init) {
                    name, value throws(HTTPResponseParseError) in
                    if HTTPHeaders.equalsIgnoringCase(name, "transfer-encoding") {
                        values.append(String(decoding: value, as: UTF8.self))
                    }
                }
                throw .unsupportedTransferEncoding(values.joined(separator: ", "))
            }
            framing = .chunked
        } else if let contentLength {
            guard contentLength <= maxBodyBytes else { throw .bodyTooLarge(limit: maxBodyBytes) }
            framing = contentLength > 0 ? .length(contentLength) : nil
        } else {
            framing = .untilClose
        }
        // RFC 9112 §9.3/§9.6; after a 101 the connection no longer speaks HTTP/1.1.
        let mustClose = framing == .untilClose || status == 101 || connectionClose
            || (version == .http1_0 && !connectionKeepAlive)
        let head = HTTPResponseHead(version: version, status: status, reason: reason, headers: HTTPHeaders(fields))
        return ParsedHead(head: head, framing: framing, mustClose: mustClose, spanCount: spanCount)
    }

    /// Parses `HTTP-version SP status-code [SP reason-phrase]` (RFC 9112 §4), without the line
    /// ending. The SP before an empty reason phrase may be missing.
    static func parseStatusLine(
        _ line: UnsafeRawBufferPointer
    ) throws(HTTPResponseParseError) -> (HTTPVersion, Int, String) {
        let versionEnd = HTTPBytes.endOfToken(in: line, from: 0)
        let version = try HTTPFieldLines.supportedVersion(
            UnsafeRawBufferPointer(rebasing: line[0..<versionEnd]), map: HTTPResponseParseError.init)
        guard versionEnd < line.count else { throw .invalidStatusLine }

        let codeStart = versionEnd + 1
        let codeEnd = HTTPBytes.endOfToken(in: line, from: codeStart)
        let code = UnsafeRawBufferPointer(rebasing: line[codeStart..<codeEnd])
        guard code.count == 3,
            let d0 = HTTPFieldLines.decimalDigit(code[0]), d0 > 0,
            let d1 = HTTPFieldLines.decimalDigit(code[1]),
            let d2 = HTTPFieldLines.decimalDigit(code[2])
        else { throw .invalidStatusCode(String(decoding: code, as: UTF8.self)) }
        let status = d0 * 100 + d1 * 10 + d2

        var reason = ""
        if codeEnd < line.count {
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), the bytes of a field value.
            let reasonBytes = UnsafeRawBufferPointer(rebasing: line[(codeEnd + 1)...])
            guard HTTPBytes.isValidFieldValue(reasonBytes) else { throw .invalidStatusLine }
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        return (version, status, reason)
    }
}
