/// The grammar both parsers share once a field section is complete: field lines, list values,
/// `Content-Length`, the HTTP-version, and the small character helpers. Pure functions of the bytes.
enum HTTPFieldLines {
    /// The line of `raw` from `start` to the LF at `lf`, without its line ending (LF or CRLF).
    @inline(__always)
    static func line(in raw: UnsafeRawBufferPointer, from start: Int, lf: Int) -> UnsafeRawBufferPointer {
        let end = lf > start && raw[lf - 1] == HTTPBytes.cr ? lf - 1 : lf
        return UnsafeRawBufferPointer(rebasing: raw[start..<end])
    }

    /// Validates each field line of `raw[start...]` up to the empty line that ends the section and
    /// calls `body` with its name and OWS-trimmed value. Framing errors are turned into the caller's
    /// error type by `map`.
    static func forEach<E: Error>(
        in raw: UnsafeRawBufferPointer, from start: Int, policy: HTTPFramingPolicy,
        map: (HTTPFramingError) -> E,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        var lineStart = start
        var index = 0
        while let lf = HTTPBytes.firstLF(in: raw, from: lineStart) {
            let fieldLine = line(in: raw, from: lineStart, lf: lf)
            if fieldLine.isEmpty { return }
            let field: (UnsafeRawBufferPointer, UnsafeRawBufferPointer)
            do throws(HTTPFramingError) {
                field = try split(fieldLine, index: index, policy: policy)
            } catch {
                throw map(error)
            }
            try body(field.0, field.1)
            lineStart = lf + 1
            index += 1
        }
    }

    /// Splits one field line (without its line ending) into a token name and an OWS-trimmed value
    /// (RFC 9112 §5). Whitespace between the name and the colon is an error or is dropped, as
    /// `policy` says.
    static func split(
        _ line: UnsafeRawBufferPointer, index: Int, policy: HTTPFramingPolicy
    ) throws(HTTPFramingError) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        guard let first = line.first else { throw .invalidFieldName(index: index) }
        guard !HTTPBytes.isWhitespace(first) else { throw .obsoleteLineFolding(index: index) }
        var nameEnd = 0
        while nameEnd < line.count, HTTPBytes.isToken(line[nameEnd]) {
            nameEnd += 1
        }
        if policy.rejectsWhitespaceBeforeColon, nameEnd < line.count, HTTPBytes.isWhitespace(line[nameEnd]) {
            throw .whitespaceBeforeColon(index: index)
        }
        var colon = nameEnd
        while colon < line.count, HTTPBytes.isWhitespace(line[colon]) {
            colon += 1
        }
        guard nameEnd > 0, colon < line.count, line[colon] == HTTPBytes.colon else { throw .invalidFieldName(index: index) }
        let name = UnsafeRawBufferPointer(rebasing: line[0..<nameEnd])
        let value = HTTPBytes.trimmingOWS(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
        guard HTTPBytes.isValidFieldValue(value) else {
            throw .invalidFieldValue(name: String(decoding: name, as: UTF8.self))
        }
        return (name, value)
    }

    /// Parses a Content-Length value: 1*DIGIT, or a list of identical ones (RFC 9110 §8.6). Nil for
    /// anything else.
    static func contentLength(_ value: UnsafeRawBufferPointer) -> Int? {
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
        return invalid ? nil : result
    }

    /// Calls `body` with each comma-separated element of a list value, trimmed of OWS
    /// (RFC 9110 §5.6.1). Empty elements are skipped unless `skippingEmpty` is false.
    static func forEachListElement(
        _ value: UnsafeRawBufferPointer, skippingEmpty: Bool = true, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != HTTPBytes.comma {
                end += 1
            }
            let element = HTTPBytes.trimmingOWS(UnsafeRawBufferPointer(rebasing: value[start..<end]))
            if !element.isEmpty || !skippingEmpty { body(element) }
            start = end + 1
        }
    }

    /// Parses `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3). Nil when malformed; a well-formed version is
    /// returned even when it is neither 1.0 nor 1.1 (the caller says which it supports).
    static func version(_ bytes: UnsafeRawBufferPointer) -> HTTPVersion? {
        guard bytes.count == 8,
            bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == HTTPBytes.slash, bytes[6] == UInt8(ascii: "."),
            let major = decimalDigit(bytes[5]), let minor = decimalDigit(bytes[7])
        else { return nil }
        return HTTPVersion(major: major, minor: minor)
    }

    /// Parses an HTTP-version and accepts only the two this library speaks, 1.0 and 1.1.
    static func supportedVersion<E: Error>(
        _ bytes: UnsafeRawBufferPointer, map: (HTTPFramingError) -> E
    ) throws(E) -> HTTPVersion {
        guard let version = version(bytes) else { throw map(.invalidVersion) }
        guard version == .http1_1 || version == .http1_0 else { throw map(.unsupportedVersion(version)) }
        return version
    }

    /// The field name as a `String`: a literal (no allocation) when the bytes are one of the long
    /// names every WebSocket handshake sends, spelled as browsers and clients spell them; a new
    /// string otherwise. Names over 15 bytes do not fit a small string, so each of the four cost
    /// an allocation and a free per handshake.
    static func name(_ bytes: UnsafeRawBufferPointer) -> String {
        func same(_ literal: StaticString) -> Bool {
            bytes.elementsEqual(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }
        switch bytes.count {
        case 17 where same("Sec-WebSocket-Key"): return "Sec-WebSocket-Key"
        case 21 where same("Sec-WebSocket-Version"): return "Sec-WebSocket-Version"
        case 22 where same("Sec-WebSocket-Protocol"): return "Sec-WebSocket-Protocol"
        case 24 where same("Sec-WebSocket-Extensions"): return "Sec-WebSocket-Extensions"
        default: return String(decoding: bytes, as: UTF8.self)
        }
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
