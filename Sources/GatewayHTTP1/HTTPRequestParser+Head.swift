/// Parsing a complete head: request line, field lines, and the body framing they announce.
/// Everything here is a pure function of the bytes.
extension HTTPRequestParser {
    /// How the body of a request is delimited (RFC 9112 §6.3).
    enum Framing: Equatable {
        /// No body.
        case none
        /// Exactly this many bytes (> 0).
        case length(Int)
        /// Chunked transfer coding.
        case chunked
    }

    /// A parsed head and its framing.
    struct ParsedHead {
        var head: HTTPRequestHead
        var framing: Framing
    }

    /// Parses a complete head: `raw` is the request line and field lines, every line ending in CRLF,
    /// followed by the empty line (the scanner guarantees the line structure and the size limits).
    /// `fieldCount` (the number of field lines the scanner saw) sizes the fields array up front.
    static func parseHead(
        _ raw: UnsafeRawBufferPointer, fieldCount: Int, limits: HTTPParserLimits
    ) throws(HTTPParseError) -> ParsedHead {
        guard let lineEnd = HTTPBytes.firstLF(in: raw, from: 0), lineEnd >= 1 else { throw .invalidRequestLine }
        let (method, target, version) = try parseRequestLine(UnsafeRawBufferPointer(rebasing: raw[0..<(lineEnd - 1)]))

        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(fieldCount)
        var contentLength: Int?
        var transferEncoding: [String] = []
        var chunkedCount = 0
        var otherCodings = false
        try forEachField(in: raw, from: lineEnd + 1) { name, value throws(HTTPParseError) in
            let nameString = String(decoding: name, as: UTF8.self)
            let valueString = String(decoding: value, as: UTF8.self)
            if equalsIgnoringCase(name, "content-length") {
                let length = try parseContentLength(value, string: valueString)
                if let contentLength, contentLength != length { throw .invalidContentLength(valueString) }
                contentLength = length
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                transferEncoding.append(valueString)
                forEachListElement(value) { coding in
                    if equalsIgnoringCase(coding, "chunked") { chunkedCount += 1 } else { otherCodings = true }
                }
            }
            fields.append((name: nameString, value: valueString))
        }

        let framing: Framing
        if !transferEncoding.isEmpty {
            // RFC 9112 §6.1/§6.3: CL with TE is a smuggling signal; TE in HTTP/1.0 is faulty framing;
            // we implement only `chunked`, alone.
            guard contentLength == nil else { throw .contentLengthWithTransferEncoding }
            guard version != .http1_0 else { throw .transferEncodingInHTTP10 }
            guard chunkedCount == 1, !otherCodings else {
                throw .unsupportedTransferEncoding(transferEncoding.joined(separator: ", "))
            }
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            guard contentLength <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
            framing = .length(contentLength)
        } else {
            framing = .none
        }
        let head = HTTPRequestHead(method: method, target: target, version: version, headers: HTTPHeaders(fields))
        return ParsedHead(head: head, framing: framing)
    }

    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3), without the CRLF.
    static func parseRequestLine(
        _ line: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (HTTPMethod, String, HTTPVersion) {
        var methodEnd = 0
        while methodEnd < line.count, line[methodEnd] != HTTPBytes.space {
            methodEnd += 1
        }
        let targetStart = methodEnd + 1
        guard targetStart < line.count else { throw .invalidRequestLine }
        var targetEnd = targetStart
        while targetEnd < line.count, line[targetEnd] != HTTPBytes.space {
            targetEnd += 1
        }
        // A version-less (HTTP/0.9-style) line has a single space.
        guard targetEnd < line.count else { throw .invalidRequestLine }

        let methodBytes = UnsafeRawBufferPointer(rebasing: line[0..<methodEnd])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPBytes.isToken) else { throw .invalidMethod }
        let method = HTTPMethod(token: String(decoding: methodBytes, as: UTF8.self))

        let targetBytes = UnsafeRawBufferPointer(rebasing: line[targetStart..<targetEnd])
        try validateTarget(targetBytes, method: method)
        let target = String(decoding: targetBytes, as: UTF8.self)

        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[(targetEnd + 1)...]))
        return (method, target, version)
    }

    /// Accepts origin-form (`/path?query`), `*` (OPTIONS only) and absolute-form (`scheme:...`),
    /// made of visible ASCII (RFC 9112 §3.2). Authority-form (CONNECT) passes only when the host
    /// looks like a scheme (starts with a letter); the gateway does not proxy CONNECT.
    static func validateTarget(_ target: UnsafeRawBufferPointer, method: HTTPMethod) throws(HTTPParseError) {
        guard let first = target.first else { throw .invalidTarget }
        for c in target where c <= HTTPBytes.space || c >= 0x7F {
            throw .invalidTarget
        }
        if first == HTTPBytes.slash { return }
        if target.count == 1, first == HTTPBytes.star {
            guard method == .OPTIONS else { throw .invalidTarget }
            return
        }
        // absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986 §3.1).
        guard isAlpha(first) else { throw .invalidTarget }
        for c in target.dropFirst() {
            if c == HTTPBytes.colon { return }
            guard isAlpha(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            else { throw .invalidTarget }
        }
        throw .invalidTarget
    }

    /// Parses `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3); only 1.0 and 1.1 are supported.
    static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPVersion {
        guard bytes.count == 8,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == HTTPBytes.slash, bytes[6] == UInt8(ascii: "."),
            let major = decimalDigit(bytes[5]), let minor = decimalDigit(bytes[7])
        else { throw .invalidVersion }
        let version = HTTPVersion(major: major, minor: minor)
        guard version == .http1_1 || version == .http1_0 else { throw .unsupportedVersion(version) }
        return version
    }

    /// Validates each field line of `raw[start..<raw.count - 2]` (the last two bytes are the CRLF of
    /// the empty line) and calls `body` with its name and OWS-trimmed value.
    static func forEachField(
        in raw: UnsafeRawBufferPointer, from start: Int,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HTTPParseError) -> Void
    ) throws(HTTPParseError) {
        let sectionEnd = raw.count - 2
        var lineStart = start
        var index = 0
        while lineStart < sectionEnd {
            guard let lf = HTTPBytes.firstLF(in: raw, from: lineStart), lf <= sectionEnd else {
                throw .invalidLineTerminator
            }
            let line = UnsafeRawBufferPointer(rebasing: raw[lineStart..<(lf - 1)])
            let (name, value) = try splitField(line, index: index)
            try body(name, value)
            lineStart = lf + 1
            index += 1
        }
    }

    /// Splits one field line (without CRLF) into a token name and an OWS-trimmed value (RFC 9112 §5).
    static func splitField(
        _ line: UnsafeRawBufferPointer, index: Int
    ) throws(HTTPParseError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        guard let first = line.first else { throw .invalidHeaderName(index: index) }
        guard !HTTPBytes.isWhitespace(first) else { throw .obsoleteLineFolding(index: index) }
        var colon = 0
        while colon < line.count, HTTPBytes.isToken(line[colon]) {
            colon += 1
        }
        guard colon < line.count, line[colon] == HTTPBytes.colon, colon > 0 else {
            if colon < line.count, HTTPBytes.isWhitespace(line[colon]) { throw .whitespaceBeforeColon(index: index) }
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
        let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
        guard HTTPBytes.isValidFieldValue(value) else {
            throw .invalidHeaderValue(name: String(decoding: name, as: UTF8.self))
        }
        return (name, value)
    }

    /// Parses a Content-Length value: 1*DIGIT, or a list of identical ones (RFC 9110 §8.6).
    static func parseContentLength(_ value: UnsafeRawBufferPointer, string: String) throws(HTTPParseError) -> Int {
        var result: Int?
        var invalid = false
        forEachListElement(value, skippingEmpty: false) { element in
            var length = 0
            var ok = !element.isEmpty
            for c in element {
                guard let digit = decimalDigit(c) else { ok = false; break }
                let (times10, o1) = length.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                guard !o1, !o2 else { ok = false; break }
                length = sum
            }
            if !ok || (result != nil && result != length) { invalid = true }
            result = length
        }
        guard !invalid, let result else { throw .invalidContentLength(string) }
        return result
    }

    /// Calls `body` with each comma-separated element of a list value, trimmed of OWS
    /// (RFC 9110 §5.6.1). Empty elements are skipped unless `skippingEmpty` is false.
    static func forEachListElement(
        _ value: UnsafeRawBufferPointer, skippingEmpty: Bool = true,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != HTTPBytes.comma {
                end += 1
            }
            var s = start, e = end
            while s < e, HTTPBytes.isWhitespace(value[s]) { s += 1 }
            while e > s, HTTPBytes.isWhitespace(value[e - 1]) { e -= 1 }
            if e > s || !skippingEmpty {
                body(UnsafeRawBufferPointer(rebasing: value[s..<e]))
            }
            start = end + 1
        }
    }

    /// ASCII case-insensitive comparison of bytes with a lowercase ASCII literal.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        HTTPHeaders.equalsIgnoringCase(bytes, UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    /// The value of a decimal digit, or nil.
    @inline(__always)
    static func decimalDigit(_ c: UInt8) -> Int? {
        c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") ? Int(c &- UInt8(ascii: "0")) : nil
    }

    /// Whether `c` is an ASCII letter.
    @inline(__always)
    static func isAlpha(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
    }
}
