public import GatewayBuffers

/// Writes JSON text into a `ByteBuffer`, for replies, pushes and error messages.
///
/// Output is always valid JSON and valid UTF-8: strings escape exactly what RFC 8259 §7 requires
/// (`"`, `\` and control characters) and leave every other character raw, which keeps replies short
/// and lets clients read non-ASCII text without decoding escapes.
public enum JSONWriter {
    /// Writes `s` as a quoted JSON string.
    ///
    /// `"` and `\` are escaped, control characters use `\n \r \t \b \f` or `\u00XX`, and everything
    /// else (including `/`, DEL and non-ASCII) is copied as UTF-8.
    public static func writeString(_ s: some StringProtocol, into buffer: inout ByteBuffer) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { utf8 in
            writeEscaped(UnsafeRawBufferPointer(utf8), into: &buffer, validateUTF8: false)
        }
        if done == nil {
            Array(s.utf8).withUnsafeBytes { writeEscaped($0, into: &buffer, validateUTF8: false) }
        }
    }

    /// Writes arbitrary bytes as a quoted JSON string, for backend bodies that are not JSON and may
    /// not even be UTF-8. Escapes as `writeString(_:into:)`; each ill-formed UTF-8 subsequence (its
    /// maximal subpart, as Unicode recommends and `String(decoding:as:)` does) becomes U+FFFD.
    public static func writeString(bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        writeEscaped(bytes, into: &buffer, validateUTF8: true)
    }

    /// Writes `value` as compact JSON (no whitespace). Numbers are written as their literal text,
    /// which is valid when it came from `JSONValue.parse` or an integer literal. A `.number` built by
    /// hand whose text is not an RFC 8259 number (`"NaN"`, `"+1"`, `"1."`) is written as `null`, as
    /// JavaScript's `JSON.stringify` does for NaN, so the output stays valid JSON whatever the value.
    public static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.write(string: "null")
        case .bool(let flag):
            buffer.write(string: flag ? "true" : "false")
        case .number(let text):
            buffer.write(string: isNumberLiteral(text) ? text : "null")
        case .string(let text):
            writeString(text, into: &buffer)
        case .array(let elements):
            buffer.write(byte: UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { buffer.write(byte: UInt8(ascii: ",")) }
                write(element, into: &buffer)
            }
            buffer.write(byte: UInt8(ascii: "]"))
        case .object(let object):
            buffer.write(byte: UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { buffer.write(byte: UInt8(ascii: ",")) }
                writeString(member.key, into: &buffer)
                buffer.write(byte: UInt8(ascii: ":"))
                write(member.value, into: &buffer)
            }
            buffer.write(byte: UInt8(ascii: "}"))
        }
    }

    /// Whether `text` is exactly one RFC 8259 number, nothing before or after it.
    static func isNumberLiteral(_ text: String) -> Bool {
        var copy = text  // withUTF8 is mutating; native strings are not actually copied
        return copy.withUTF8 { utf8 in
            let p = UnsafeRawBufferPointer(utf8)
            do throws(JSONError) {
                return try JSONScanner.scanNumber(p, from: 0) == p.count
            } catch {
                return false
            }
        }
    }

    /// The escaping loop. Runs of bytes that need nothing are copied in one `write`.
    private static func writeEscaped(_ p: UnsafeRawBufferPointer, into buffer: inout ByteBuffer, validateUTF8: Bool) {
        let n = p.count
        buffer.reserveWritableCapacity(n + 2)
        buffer.write(byte: UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        while i < n {
            // Plain ASCII goes 8 bytes at a time.
            while i &+ 8 <= n && !JSONScanner.hasSpecialByte(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))) {
                i &+= 8
            }
            guard i < n else { break }
            let b = p[i]
            if b >= 0x80 {
                guard validateUTF8 else {
                    i += 1
                    continue
                }
                let length = JSONScanner.utf8Sequence(p, at: i, end: n)
                if length > 0 {
                    i += length
                    continue
                }
                flush(p, runStart, i, into: &buffer)
                buffer.write(byte: 0xEF)
                buffer.write(byte: 0xBF)
                buffer.write(byte: 0xBD)
                i += -length
                runStart = i
                continue
            }
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else {
                i += 1
                continue
            }
            flush(p, runStart, i, into: &buffer)
            writeEscape(for: b, into: &buffer)
            i += 1
            runStart = i
        }
        flush(p, runStart, n, into: &buffer)
        buffer.write(byte: UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func flush(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, into buffer: inout ByteBuffer) {
        if start < end { buffer.write(UnsafeRawBufferPointer(rebasing: p[start..<end])) }
    }

    /// The escape for `"`, `\` or a control character.
    private static func writeEscape(for b: UInt8, into buffer: inout ByteBuffer) {
        let short: UInt8
        switch b {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        default:
            let hex: StaticString = "0123456789abcdef"
            buffer.write(string: "\\u00")
            buffer.write(byte: hex.utf8Start[Int(b >> 4)])
            buffer.write(byte: hex.utf8Start[Int(b & 0x0F)])
            return
        }
        buffer.write(byte: UInt8(ascii: "\\"))
        buffer.write(byte: short)
    }
}
