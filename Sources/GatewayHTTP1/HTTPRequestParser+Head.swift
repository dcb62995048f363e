/// Parsing a complete head: request line, field lines, and the body framing they announce.
/// Everything here is a pure function of the bytes.
extension HTTPRequestParser {
    /// A parsed head and how its body is delimited (RFC 9112 §6.3; nil: no body).
    struct ParsedHead {
        var head: HTTPRequestHead
        var framing: HTTPBodyReader.Framing?
    }

    /// Parses a complete head: `raw` is the request line and field lines, every line ending in CRLF,
    /// followed by the empty line (the scanner guarantees the line structure and the size limits).
    /// `fieldCount` (the number of field lines the scanner saw) sizes the fields array up front.
    static func parseHead(
        _ raw: UnsafeRawBufferPointer, fieldCount: Int, limits: HTTPParserLimits, policy: HTTPFramingPolicy
    ) throws(HTTPParseError) -> ParsedHead {
        guard let lineEnd = HTTPBytes.firstLF(in: raw, from: 0), lineEnd >= 1 else { throw .invalidRequestLine }
        let (method, target, version) = try parseRequestLine(UnsafeRawBufferPointer(rebasing: raw[0..<(lineEnd - 1)]))

        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(fieldCount)
        var contentLength: Int?
        var transferEncoding: [String] = []
        var chunkedCount = 0
        var otherCodings = false
        try HTTPFieldLines.forEach(in: raw, from: lineEnd + 1, policy: policy, map: HTTPParseError.init) {
            name, value throws(HTTPParseError) in
            let nameString = HTTPFieldLines.name(name)
            let valueString = String(decoding: value, as: UTF8.self)
            if HTTPHeaders.equalsIgnoringCase(name, "content-length") {
                guard let length = HTTPFieldLines.contentLength(value) else { throw .invalidContentLength(valueString) }
                if let contentLength, contentLength != length { throw .invalidContentLength(valueString) }
                contentLength = length
            } else if HTTPHeaders.equalsIgnoringCase(name, "transfer-encoding") {
                transferEncoding.append(valueString)
                HTTPFieldLines.forEachListElement(value) { coding in
                    if HTTPHeaders.equalsIgnoringCase(coding, "chunked") { chunkedCount += 1 } else { otherCodings = true }
                }
            }
            fields.append((name: nameString, value: valueString))
        }

        let framing: HTTPBodyReader.Framing?
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
            framing = nil
        }
        let head = HTTPRequestHead(method: method, target: target, version: version, headers: HTTPHeaders(fields))
        return ParsedHead(head: head, framing: framing)
    }

    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3), without the CRLF.
    static func parseRequestLine(
        _ line: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (HTTPMethod, String, HTTPVersion) {
        let methodEnd = HTTPBytes.endOfToken(in: line, from: 0)
        let targetStart = methodEnd + 1
        guard targetStart < line.count else { throw .invalidRequestLine }
        let targetEnd = HTTPBytes.endOfToken(in: line, from: targetStart)
        // A version-less (HTTP/0.9-style) line has a single space.
        guard targetEnd < line.count else { throw .invalidRequestLine }

        let methodBytes = UnsafeRawBufferPointer(rebasing: line[0..<methodEnd])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPBytes.isToken) else { throw .invalidMethod }
        let method = HTTPMethod(token: String(decoding: methodBytes, as: UTF8.self))

        let targetBytes = UnsafeRawBufferPointer(rebasing: line[targetStart..<targetEnd])
        try validateTarget(targetBytes, method: method)
        let target = String(decoding: targetBytes, as: UTF8.self)

        let version = try HTTPFieldLines.supportedVersion(
            UnsafeRawBufferPointer(rebasing: line[(targetEnd + 1)...]), map: HTTPParseError.init)
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
        guard HTTPFieldLines.isAlpha(first) else { throw .invalidTarget }
        for c in target.dropFirst() {
            if c == HTTPBytes.colon { return }
            guard HTTPFieldLines.isAlpha(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            else { throw .invalidTarget }
        }
        throw .invalidTarget
    }
}
