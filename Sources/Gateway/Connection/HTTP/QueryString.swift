#if canImport(Glibc)
internal import Glibc
#endif
internal import GatewayWebSocket

/// Query strings (`a=1&b=x%20y`: `&`-separated, empty pairs skipped, the name before the first `=`,
/// percent escapes, `+` for a space) read as bytes. `AdminQuery` builds its table with `decode`; the
/// handshake's token lookup takes one parameter with `firstValue` and builds no String at all.
enum QueryString {
    /// Percent-decodes `s` into `out`, which needs `s.count` bytes (decoding never grows).
    /// - Returns: the decoded length, or nil for a `%` without two hex digits after it.
    static func decode(_ s: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(out.count >= s.count, "QueryString.decode: out is too small")
        var o = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "+") {
                out[o] = 0x20
            } else if c == UInt8(ascii: "%") {
                guard i + 2 < s.count, let h = hex(s[i + 1]), let l = hex(s[i + 2]) else { return nil }
                out[o] = h << 4 | l
                i += 2
            } else {
                out[o] = c
            }
            o += 1
            i += 1
        }
        return o
    }

    /// The value of the first parameter called `name` whose value is not empty and decodes (its
    /// escapes and its UTF-8 valid): what `AdminQuery(query)[name]` answers, without a String. Names
    /// are compared decoded, byte by byte.
    /// - Returns: the value: a slice of `query` when it has no escapes (the usual token), else
    ///   decoded into `out`, which needs `query.count` bytes; nil when no parameter qualifies.
    static func firstValue(
        named name: String, in query: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) -> UnsafeRawBufferPointer? {
        guard let base = query.baseAddress else { return nil }
        var name = name
        return name.withUTF8 { name in
            var start = 0
            while start < query.count {
                // memchr: a token is a few hundred bytes, and libc's is vectorised.
                let end = memchr(base + start, Int32(UInt8(ascii: "&")), query.count - start).map { UnsafeRawPointer($0) - base } ?? query.count
                defer { start = end + 1 }
                guard end > start,
                      let eq = memchr(base + start, Int32(UInt8(ascii: "=")), end - start).map({ UnsafeRawPointer($0) - base }),
                      decodedEquals(UnsafeRawBufferPointer(rebasing: query[start..<eq]), UnsafeRawBufferPointer(name))
                else { continue }
                let raw = UnsafeRawBufferPointer(rebasing: query[(eq + 1)..<end])
                guard !raw.isEmpty else { continue }
                var plain = true  // no escape, no `+`, ASCII: the value is its own decoding, and valid UTF-8
                for c in raw where c == UInt8(ascii: "%") || c == UInt8(ascii: "+") || c >= 0x80 {
                    plain = false
                    break
                }
                if plain { return raw }
                guard let n = decode(raw, into: out), n > 0 else { continue }
                let value = UnsafeRawBufferPointer(rebasing: out[..<n])
                if value.contains(where: { $0 >= 0x80 }) && !UTF8Validator.isValid(value) { continue }
                return value
            }
            return nil
        }
    }

    /// Whether `s` percent-decodes to exactly `bytes` (false when it does not decode).
    private static func decodedEquals(_ s: UnsafeRawBufferPointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var k = 0
        while i < s.count {
            var c = s[i]
            if c == UInt8(ascii: "+") {
                c = 0x20
            } else if c == UInt8(ascii: "%") {
                guard i + 2 < s.count, let h = hex(s[i + 1]), let l = hex(s[i + 2]) else { return false }
                c = h << 4 | l
                i += 2
            }
            guard k < bytes.count, bytes[k] == c else { return false }
            k += 1
            i += 1
        }
        return k == bytes.count
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
