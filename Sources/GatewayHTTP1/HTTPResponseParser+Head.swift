/// Parsing a complete head: status line, field lines, and the body framing they announce
/// (RFC 9112 §6.3). Everything here is a pure function of the bytes and the request they answer.
extension HTTPResponseParser {
    /// How the body of a response is delimited.
    enum Framing: Equatable {
        /// No body.
        case none
        /// Exactly this many bytes (> 0).
        case length(Int)
        /// Chunked transfer coding.
        case chunked
        /// Until the connection closes.
        case untilClose
    }

    /// A parsed head, its framing, and whether the connection must close after it.
    struct ParsedHead {
        var head: HTTPResponseHead
        var framing: Framing
        var mustClose: Bool
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
        collectFields: Bool = true
    ) throws(HTTPResponseParseError) -> ParsedHead {
        guard let statusEnd = HTTPBytes.firstLF(in: raw, from: 0) else { throw .invalidStatusLine }
        let (version, status, reason) = try parseStatusLine(line(in: raw, from: 0, lf: statusEnd))
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
        try forEachField(in: raw, from: statusEnd + 1) { name, value throws(HTTPResponseParseError) in
            if bodyAllowed, HTTPRequestParser.equalsIgnoringCase(name, "content-length") {
                let length: Int
                do {
                    length = try HTTPRequestParser.parseContentLength(value, string: "")
                } catch {
                    throw .invalidContentLength(String(decoding: value, as: UTF8.self))
                }
                if let contentLength, contentLength != length {
                    throw .invalidContentLength(String(decoding: value, as: UTF8.self))
                }
                contentLength = length
            } else if bodyAllowed, HTTPRequestParser.equalsIgnoringCase(name, "transfer-encoding") {
                hasTransferEncoding = true
                HTTPRequestParser.forEachListElement(value) { coding in
                    let isChunked = HTTPRequestParser.equalsIgnoringCase(coding, "chunked")
                    codings += 1
                    if isChunked { chunkedCount += 1 }
                    chunkedLast = isChunked
                }
            } else if HTTPRequestParser.equalsIgnoringCase(name, "connection") {
                HTTPRequestParser.forEachListElement(value) { option in
                    if HTTPRequestParser.equalsIgnoringCase(option, "close") {
                        connectionClose = true
                    } else if HTTPRequestParser.equalsIgnoringCase(option, "keep-alive") {
                        connectionKeepAlive = true
                    }
                }
            }
            if collectFields {
                fields.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            }
        }

        let framing: Framing
        if !bodyAllowed {
            framing = .none
        } else if hasTransferEncoding {
            // RFC 9112 §6.3 rule 3: CL with TE "ought to be handled as an error"; TE in HTTP/1.0 is
            // faulty framing. We decode only `chunked`, which must be the last coding, applied once
            // (§6.1); codings before it stay in the (de-chunked) body, as the header says.
            guard contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard version != .http1_0 else { throw .transferEncodingInHTTP10 }
            guard codings > 0, chunkedLast, chunkedCount == 1 else {
                var values: [String] = []
                try forEachField(in: raw, from: statusEnd + 1) { name, value throws(HTTPResponseParseError) in
                    if HTTPRequestParser.equalsIgnoringCase(name, "transfer-encoding") {
                        values.append(String(decoding: value, as: UTF8.self))
                    }
                }
                throw .unsupportedTransferEncoding(values.joined(separator: ", "))
            }
            framing = .chunked
        } else if let contentLength {
            guard contentLength <= maxBodyBytes else { throw .bodyTooLarge(limit: maxBodyBytes) }
            framing = contentLength > 0 ? .length(contentLength) : .none
        } else {
            framing = .untilClose
        }
        // RFC 9112 §9.3/§9.6; after a 101 the connection no longer speaks HTTP/1.1.
        let mustClose = framing == .untilClose || status == 101 || connectionClose
            || (version == .http1_0 && !connectionKeepAlive)
        let head = HTTPResponseHead(version: version, status: status, reason: reason, headers: HTTPHeaders(fields))
        return ParsedHead(head: head, framing: framing, mustClose: mustClose)
    }

    /// Parses `HTTP-version SP status-code [SP reason-phrase]` (RFC 9112 §4), without the line
    /// ending. The SP before an empty reason phrase may be missing.
    static func parseStatusLine(
        _ line: UnsafeRawBufferPointer
    ) throws(HTTPResponseParseError) -> (HTTPVersion, Int, String) {
        var versionEnd = 0
        while versionEnd < line.count, line[versionEnd] != HTTPBytes.space {
            versionEnd += 1
        }
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[0..<versionEnd]))
        guard versionEnd < line.count else { throw .invalidStatusLine }

        let codeStart = versionEnd + 1
        var codeEnd = codeStart
        while codeEnd < line.count, line[codeEnd] != HTTPBytes.space {
            codeEnd += 1
        }
        let code = UnsafeRawBufferPointer(rebasing: line[codeStart..<codeEnd])
        guard code.count == 3,
            let d0 = HTTPRequestParser.decimalDigit(code[0]), d0 > 0,
            let d1 = HTTPRequestParser.decimalDigit(code[1]),
            let d2 = HTTPRequestParser.decimalDigit(code[2])
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

    /// Parses `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3); only 1.0 and 1.1 are supported. The grammar is
    /// the request parser's.
    static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(HTTPResponseParseError) -> HTTPVersion {
        do {
            return try HTTPRequestParser.parseVersion(bytes)
        } catch {
            if case .unsupportedVersion(let version) = error { throw .unsupportedVersion(version) }
            throw .invalidVersion
        }
    }

    /// The line of `raw` from `start` to the LF at `lf`, without its line ending (LF or CRLF).
    @inline(__always)
    static func line(in raw: UnsafeRawBufferPointer, from start: Int, lf: Int) -> UnsafeRawBufferPointer {
        let end = lf > start && raw[lf - 1] == HTTPBytes.cr ? lf - 1 : lf
        return UnsafeRawBufferPointer(rebasing: raw[start..<end])
    }

    /// Validates each field line of `raw[start...]` up to the empty line that ends the section and
    /// calls `body` with its name and OWS-trimmed value.
    static func forEachField(
        in raw: UnsafeRawBufferPointer, from start: Int,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HTTPResponseParseError) -> Void
    ) throws(HTTPResponseParseError) {
        var lineStart = start
        var index = 0
        while let lf = HTTPBytes.firstLF(in: raw, from: lineStart) {
            let fieldLine = line(in: raw, from: lineStart, lf: lf)
            if fieldLine.isEmpty { return }
            let (name, value) = try splitField(fieldLine, index: index)
            try body(name, value)
            lineStart = lf + 1
            index += 1
        }
    }

    /// Splits one field line (without its line ending) into a token name and an OWS-trimmed value
    /// (RFC 9112 §5). Whitespace between the name and the colon is dropped, as RFC 9112 §5.1 has
    /// proxies do for responses.
    static func splitField(
        _ line: UnsafeRawBufferPointer, index: Int
    ) throws(HTTPResponseParseError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        guard let first = line.first else { throw .invalidHeaderName(index: index) }
        guard !HTTPBytes.isWhitespace(first) else { throw .obsoleteLineFolding(index: index) }
        var nameEnd = 0
        while nameEnd < line.count, HTTPBytes.isToken(line[nameEnd]) {
            nameEnd += 1
        }
        var colon = nameEnd
        while colon < line.count, HTTPBytes.isWhitespace(line[colon]) {
            colon += 1
        }
        guard nameEnd > 0, colon < line.count, line[colon] == HTTPBytes.colon else {
            throw .invalidHeaderName(index: index)
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, HTTPBytes.isWhitespace(line[valueStart]) {
            valueStart += 1
        }
        while valueEnd > valueStart, HTTPBytes.isWhitespace(line[valueEnd - 1]) {
            valueEnd -= 1
        }
        let name = UnsafeRawBufferPointer(rebasing: line[0..<nameEnd])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
        guard HTTPBytes.isValidFieldValue(value) else {
            throw .invalidHeaderValue(name: String(decoding: name, as: UTF8.self))
        }
        return (name, value)
    }
}
