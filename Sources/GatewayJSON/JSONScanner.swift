/// Token-level primitives shared by the validator, the tree parser and the envelope parser.
///
/// Every function takes the whole input plus an index, checks every index against `p.count` before
/// reading, and throws `JSONError` instead of trapping, so no input can crash the caller. None of them
/// allocate except `decodeString`, which returns the decoded `String`.
enum JSONScanner {
    // MARK: Whitespace

    /// Advances `i` past JSON whitespace: space, tab, LF and CR only (RFC 8259 §2).
    @inline(__always)
    static func skipWhitespace(_ p: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < p.count {
            switch p[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    // MARK: Strings

    /// Validates the string whose opening quote is at `quote`.
    /// - Returns: the index just past the closing quote, and whether the contents contain escapes
    ///   (when they do not, the raw bytes already are the decoded UTF-8).
    static func scanString(
        _ p: UnsafeRawBufferPointer, from quote: Int
    ) throws(JSONError) -> (end: Int, hasEscapes: Bool) {
        let n = p.count
        var i = quote + 1
        var hasEscapes = false
        while true {
            // Fast path: skip 8 plain ASCII bytes at a time.
            while i &+ 8 <= n && !hasSpecialByte(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))) {
                i &+= 8
            }
            guard i < n else { throw JSONError(.unterminatedString, at: quote) }
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                return (i + 1, hasEscapes)
            } else if b == UInt8(ascii: "\\") {
                hasEscapes = true
                i = try scanEscape(p, at: i, quote: quote)
            } else if b < 0x20 {
                throw JSONError(.controlCharacterInString(b), at: i)
            } else if b < 0x80 {
                i += 1
            } else {
                let length = utf8Sequence(p, at: i, end: n)
                guard length > 0 else {
                    // A sequence cut off by the end of input is still bad UTF-8: a valid string would
                    // need its closing quote after it anyway.
                    throw JSONError(.invalidUTF8, at: i)
                }
                i += length
            }
        }
    }

    /// Validates the escape sequence whose backslash is at `i` and returns the index after it.
    private static func scanEscape(_ p: UnsafeRawBufferPointer, at i: Int, quote: Int) throws(JSONError) -> Int {
        let n = p.count
        guard i + 1 < n else { throw JSONError(.unterminatedString, at: quote) }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            for k in (i + 2)..<(i + 6) {
                guard k < n else { throw JSONError(.unterminatedString, at: quote) }
                guard hexValue(p[k]) >= 0 else { throw JSONError(.invalidUnicodeEscape, at: i) }
            }
            // Lone surrogates are syntactically fine (RFC 8259 §8.2); decoding replaces them.
            return i + 6
        case let other:
            throw JSONError(.invalidEscape(other), at: i)
        }
    }

    /// Whether any of the 8 bytes in `w` is `"`, `\`, a control character (< 0x20) or non-ASCII.
    /// Uses the classic "has zero byte" bit trick; exact (no false negatives or positives for the
    /// "any" question), which is all the caller needs before falling back to the byte loop.
    @inline(__always)
    static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = (w &- ones &* 0x20) & ~w
        return (hasQuote | hasBackslash | hasControl | w) & highs != 0
    }

    /// The value of an ASCII hex digit, or -1.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b &- UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b &- UInt8(ascii: "A")) + 10
        default: return -1
        }
    }

    /// Checks the UTF-8 sequence whose lead byte (≥ 0x80) is at `i`, strictly (Unicode Table 3-7:
    /// no overlong forms, no encoded surrogates D800–DFFF, nothing above U+10FFFF).
    /// - Returns: the sequence length (2–4) when well-formed; otherwise the negated length (≥ 1) of
    ///   its maximal ill-formed subpart, the unit that one U+FFFD replaces.
    static func utf8Sequence(_ p: UnsafeRawBufferPointer, at i: Int, end n: Int) -> Int {
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        let length: Int
        switch p[i] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0  // below A0 would be overlong
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F  // above 9F would encode a surrogate
        case 0xF0: length = 4; low = 0x90  // below 90 would be overlong
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F  // above 8F would exceed U+10FFFF
        default: return -1  // continuation byte, C0/C1, F5–FF
        }
        guard i + 1 < n, p[i + 1] >= low, p[i + 1] <= high else { return -1 }
        var k = 2
        while k < length {
            guard i + k < n, p[i + k] & 0xC0 == 0x80 else { return -k }
            k += 1
        }
        return length
    }

    // MARK: Numbers and literals

    /// Validates the number starting at `i` (a `-` or a digit) against RFC 8259 §6:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Returns the index after it.
    static func scanNumber(_ p: UnsafeRawBufferPointer, from start: Int) throws(JSONError) -> Int {
        let n = p.count
        var i = start
        if i < n && p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, isDigit(p[i]) else { throw JSONError(.invalidNumber, at: i) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < n && isDigit(p[i]) { throw JSONError(.leadingZero, at: start) }
        } else {
            skipDigits(p, &i)
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(p[i]) else { throw JSONError(.invalidNumber, at: i) }
            skipDigits(p, &i)
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, isDigit(p[i]) else { throw JSONError(.invalidNumber, at: i) }
            skipDigits(p, &i)
        }
        return i
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always)
    private static func skipDigits(_ p: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < p.count && isDigit(p[i]) { i += 1 }
    }

    /// The literal starting at `i` (`t`, `f` or `n`): which one it is and the index after it.
    static func scanLiteral(_ p: UnsafeRawBufferPointer, from i: Int) throws(JSONError) -> (value: Bool?, end: Int) {
        let (text, value): (StaticString, Bool?)
        switch p[i] {
        case UInt8(ascii: "t"): (text, value) = ("true", true)
        case UInt8(ascii: "f"): (text, value) = ("false", false)
        default: (text, value) = ("null", nil)
        }
        let count = text.utf8CodeUnitCount
        guard i + count <= p.count else { throw JSONError(.invalidLiteral, at: i) }
        let start = text.utf8Start
        for k in 0..<count where p[i + k] != start[k] {
            throw JSONError(.invalidLiteral, at: i)
        }
        return (value, i + count)
    }

    // MARK: Objects

    /// Validates one JSON value with optional surrounding whitespace. When it is an object, its
    /// members are scanned by `visitor` (each call starts at a member's name and returns the index
    /// after its value); this walks the braces, commas and whitespace between them and holds the
    /// object to `maxDepth` as level 1. The skeleton shared by `JSONEnvelope` and `JSONObjectScanner`.
    /// - Returns: whether the value is an object (false: valid JSON of another type).
    static func scanObject<V: JSONMemberVisitor>(
        _ p: UnsafeRawBufferPointer, maxDepth: Int, _ visitor: inout V
    ) throws(JSONError) -> Bool {
        let n = p.count
        var i = 0
        skipWhitespace(p, &i)
        guard i < n, p[i] == UInt8(ascii: "{") else {
            try JSONValidator.validate(p, maxDepth: maxDepth)  // throws unless it is another JSON type
            return false
        }
        guard maxDepth >= 1 else { throw JSONError(.depthExceeded(limit: maxDepth), at: i) }
        i += 1
        skipWhitespace(p, &i)
        if i < n && p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                i = try visitor.member(p, at: i, maxDepth: maxDepth)
                skipWhitespace(p, &i)
                guard i < n else { throw JSONError(.unexpectedEnd(expected: .commaOrEndOfObject), at: i) }
                if p[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                guard p[i] == UInt8(ascii: ",") else {
                    throw JSONError(.unexpectedCharacter(p[i], expected: .commaOrEndOfObject), at: i)
                }
                i += 1
                skipWhitespace(p, &i)
            }
        }
        skipWhitespace(p, &i)
        guard i == n else { throw JSONError(.trailingCharacters, at: i) }
        return true
    }

    /// Whether the escaped name `start..<end` (validated, without quotes) decodes to the ASCII
    /// `target`, compared scalar by scalar.
    static func decodedName(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, equals target: StaticString) -> Bool {
        let t = target.utf8Start
        let count = target.utf8CodeUnitCount
        var i = start
        var k = 0
        while i < end {
            guard k < count else { return false }
            let scalar: UInt32
            if p[i] == UInt8(ascii: "\\") {
                (scalar, i) = decodeEscape(p, at: i, end: end)
            } else {
                scalar = UInt32(p[i])  // a non-ASCII lead byte never equals an ASCII target
                i += 1
            }
            guard scalar == UInt32(t[k]) else { return false }
            k += 1
        }
        return k == count
    }

    // MARK: Comparing

    /// Whether two decoded strings are the same JSON string: the same Unicode scalars, hence the same
    /// UTF-8 (RFC 8259 §8.3). Swift's `==` uses canonical equivalence instead, under which `"\u{E9}"`
    /// and `"e\u{301}"` are equal although JSON (and every other JSON reader) tells them apart.
    @inline(__always)
    static func sameScalars(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8)
    }

    // MARK: Decoding

    /// Decodes the escape whose backslash is at `i` in an already validated string ending at `end`.
    /// Surrogate pairs combine; a lone surrogate becomes U+FFFD. Defensive against bad input anyway
    /// (it yields U+FFFD rather than reading past `end`).
    static func decodeEscape(_ p: UnsafeRawBufferPointer, at i: Int, end: Int) -> (scalar: UInt32, next: Int) {
        guard i + 1 < end else { return (0xFFFD, end) }
        switch p[i + 1] {
        case UInt8(ascii: "b"): return (0x08, i + 2)
        case UInt8(ascii: "f"): return (0x0C, i + 2)
        case UInt8(ascii: "n"): return (0x0A, i + 2)
        case UInt8(ascii: "r"): return (0x0D, i + 2)
        case UInt8(ascii: "t"): return (0x09, i + 2)
        case UInt8(ascii: "u"): break
        case let other: return (UInt32(other), i + 2)  // " \ /
        }
        let u = hex4(p, at: i + 2, end: end)
        let next = i + 6
        guard u >= 0 else { return (0xFFFD, min(next, end)) }
        switch u {
        case 0xD800...0xDBFF:
            if next + 6 <= end && p[next] == UInt8(ascii: "\\") && p[next + 1] == UInt8(ascii: "u") {
                let low = hex4(p, at: next + 2, end: end)
                if (0xDC00...0xDFFF).contains(low) {
                    return (0x10000 + (UInt32(u - 0xD800) << 10) + UInt32(low - 0xDC00), next + 6)
                }
            }
            return (0xFFFD, next)  // high surrogate without its low half
        case 0xDC00...0xDFFF:
            return (0xFFFD, next)  // low surrogate on its own
        default:
            return (UInt32(u), next)
        }
    }

    /// Four hex digits at `i` as a value, or -1.
    private static func hex4(_ p: UnsafeRawBufferPointer, at i: Int, end: Int) -> Int {
        guard i + 4 <= end else { return -1 }
        var value = 0
        for k in i..<(i + 4) {
            let digit = hexValue(p[k])
            guard digit >= 0 else { return -1 }
            value = value << 4 | digit
        }
        return value
    }

    /// The decoded contents of a validated string (`start..<end` excludes the quotes).
    /// Without escapes this is one copy of the bytes; strings up to 15 bytes do not allocate.
    static func decodeString(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, hasEscapes: Bool) -> String {
        guard start < end, end <= p.count else { return "" }
        let raw = UnsafeRawBufferPointer(rebasing: p[start..<end])
        guard hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        // Decoding never grows: \X (2 bytes) → 1, \uXXXX (6) → ≤ 3, a pair (12) → 4, U+FFFD (6) → 3.
        return String(unsafeUninitializedCapacity: end - start) { out in
            var o = 0
            var i = start
            while i < end {
                if p[i] != UInt8(ascii: "\\") {
                    out[o] = p[i]
                    o += 1
                    i += 1
                    continue
                }
                let (scalar, next) = decodeEscape(p, at: i, end: end)
                let needed = scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
                guard o + needed <= out.count else { break }  // cannot happen; never write past the end
                o += encodeUTF8(scalar, into: out, at: o)
                i = next
            }
            return o
        }
    }

    /// Writes `scalar` as UTF-8 at `o` and returns the byte count. The caller guarantees room.
    private static func encodeUTF8(_ scalar: UInt32, into out: UnsafeMutableBufferPointer<UInt8>, at o: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            out[o] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[o] = UInt8(0xC0 | scalar >> 6)
            out[o + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[o] = UInt8(0xE0 | scalar >> 12)
            out[o + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[o + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            out[o] = UInt8(0xF0 | scalar >> 18 & 0x07)
            out[o + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[o + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[o + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}

/// Scans the members of an object for `JSONScanner.scanObject`.
protocol JSONMemberVisitor {
    /// Scans the member whose name's opening quote should be at `start` (whitespace before it is
    /// skipped already; anything else there is the visitor's error to throw) and returns the index
    /// just past its value. Values nest at depth 1 of `maxDepth`.
    mutating func member(_ p: UnsafeRawBufferPointer, at start: Int, maxDepth: Int) throws(JSONError) -> Int
}
