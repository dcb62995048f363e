/// Base64 with the standard alphabet and padding (RFC 4648 §4): encoding for `Sec-WebSocket-Accept`,
/// and a length check for `Sec-WebSocket-Key` (the handshake never needs the decoded bytes, only
/// their count, RFC 6455 §4.1). Also a decoder for base64url (RFC 4648 §5), for the parts of the
/// tokens checked at connect.
package enum Base64 {
    /// The standard alphabet. A static string's bytes need no lazy initialization per call.
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// Encodes bytes, padding the last group with `=`. The characters are written straight into the
    /// string's storage (a handshake encodes one 20-byte digest).
    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let s = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) { return s }
        return Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Encodes the bytes of `inp`, padding the last group with `=`.
    package static func encode(_ inp: UnsafeRawBufferPointer) -> String {
        let count = (inp.count + 2) / 3 * 4
        guard count > 0 else { return "" }
        let a = alphabet.utf8Start
        return String(unsafeUninitializedCapacity: count) { out in
            var i = 0, o = 0
            while i + 3 <= inp.count {
                let group = UInt32(inp[i]) << 16 | UInt32(inp[i + 1]) << 8 | UInt32(inp[i + 2])
                out[o] = a[Int(group >> 18 & 63)]
                out[o + 1] = a[Int(group >> 12 & 63)]
                out[o + 2] = a[Int(group >> 6 & 63)]
                out[o + 3] = a[Int(group & 63)]
                i += 3
                o += 4
            }
            let rest = inp.count - i
            if rest > 0 {
                let group = UInt32(inp[i]) << 16 | (rest == 2 ? UInt32(inp[i + 1]) << 8 : 0)
                out[o] = a[Int(group >> 18 & 63)]
                out[o + 1] = a[Int(group >> 12 & 63)]
                out[o + 2] = rest == 2 ? a[Int(group >> 6 & 63)] : UInt8(ascii: "=")
                out[o + 3] = UInt8(ascii: "=")
            }
            return count
        }
    }

    /// The number of bytes `text` decodes to, or nil if it is not padded base64: a multiple of 4
    /// characters from the standard alphabet, with `=` only as the last one or two. Nonzero unused
    /// bits before the padding are accepted (RFC 4648 §3.5 lets decoders choose); rejecting them
    /// would only break sloppy clients.
    package static func decodedCount(_ text: some StringProtocol) -> Int? {
        if let n = text.utf8.withContiguousStorageIfAvailable({ decodedCount(UnsafeRawBufferPointer($0)) }) { return n }
        return Array(text.utf8).withUnsafeBytes { decodedCount($0) }
    }

    private static func decodedCount(_ chars: UnsafeRawBufferPointer) -> Int? {
        guard chars.count % 4 == 0 else { return nil }
        if chars.isEmpty { return 0 }
        var padding = 0
        if chars[chars.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if chars.count >= 2 && chars[chars.count - 2] == UInt8(ascii: "=") { padding += 1 }
        for i in 0..<(chars.count - padding) {
            guard value(of: chars[i]) != nil else { return nil }
        }
        return chars.count / 4 * 3 - padding
    }

    /// The most bytes `count` base64url characters decode to: the room `decodeURL` needs.
    package static func decodedCapacity(ofURL count: Int) -> Int { count / 4 * 3 + 2 }

    /// Decodes base64url (RFC 4648 §5: `-` and `_` for `+` and `/`) into `out`, without allocating:
    /// unpadded as JWS uses it (RFC 7515 §2), `=` tolerated (skipped wherever it is). Nonzero unused
    /// bits at the end are accepted, as by `decodedCount`.
    /// - Returns: the number of bytes written; nil for a character outside the alphabet, for a length
    ///   (without `=`) of 1 mod 4 (its last character carries no whole byte), or when `out` has less
    ///   than `decodedCapacity(ofURL: input.count)` bytes.
    package static func decodeURL(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard out.count >= decodedCapacity(ofURL: input.count) else { return nil }
        return urlTable.withUnsafeBufferPointer { table in
            var o = 0
            var i = 0
            let n = input.count
            // Whole groups of four characters to three bytes; a `=` or a bad character leaves the fast path.
            while i + 4 <= n {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                guard (a | b | c | d) < 64 else { break }
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                out[o] = UInt8(truncatingIfNeeded: group >> 16)
                out[o + 1] = UInt8(truncatingIfNeeded: group >> 8)
                out[o + 2] = UInt8(truncatingIfNeeded: group)
                o += 3
                i += 4
            }
            var acc: UInt32 = 0, bits = 0
            while i < n {
                let c = input[i]
                i += 1
                if c == UInt8(ascii: "=") { continue }
                let v = table[Int(c)]
                guard v < 64 else { return nil }
                acc = acc << 6 | UInt32(v)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    out[o] = UInt8(truncatingIfNeeded: acc >> UInt32(bits))
                    o += 1
                }
            }
            return bits >= 6 ? nil : o
        }
    }

    /// The value of each byte as a base64url character, 0xFF for the others.
    private static let urlTable: [UInt8] = (0...255).map { urlValue(UInt8($0)) }

    /// The value of a base64url character, or 0xFF.
    @inline(__always)
    private static func urlValue(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c &- UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c &- UInt8(ascii: "a") &+ 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0") &+ 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: 0xFF
        }
    }

    private static func value(of c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
