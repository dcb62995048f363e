#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte constants and character classes of the HTTP/1.1 grammar (RFC 9110 §5.6, RFC 9112).
enum HTTPBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = UInt8(ascii: ":")
    static let semicolon: UInt8 = UInt8(ascii: ";")
    static let comma: UInt8 = UInt8(ascii: ",")
    static let slash: UInt8 = UInt8(ascii: "/")
    static let star: UInt8 = UInt8(ascii: "*")

    /// Bitmap of `tchar` (RFC 9110 §5.6.2: ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``) for bytes 0–63.
    static let tokenMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
    /// Bitmap of `tchar` for bytes 64–127.
    static let tokenMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Whether `c` is a `tchar`, the alphabet of methods and field names.
    @inline(__always)
    static func isToken(_ c: UInt8) -> Bool {
        let mask = c < 64 ? tokenMaskLow : (c < 128 ? tokenMaskHigh : 0)
        return (mask >> UInt64(c & 63)) & 1 == 1
    }

    /// Whether `c` may appear in a field value: HTAB, SP, VCHAR or obs-text (RFC 9110 §5.5).
    /// Rejects NUL, CR, LF, DEL and the other controls.
    @inline(__always)
    static func isFieldValueByte(_ c: UInt8) -> Bool {
        c == tab || (c >= space && c != 0x7F)
    }

    /// Whether every byte of `value` is a field value byte (`isFieldValueByte`).
    ///
    /// Checks eight bytes at a time: the usual "has a byte less than n" and "has a zero byte" word
    /// tricks flag a word holding a control or DEL; only flagged words (and the tail) are checked
    /// byte by byte, which also lets HTAB through.
    static func isValidFieldValue(_ value: UnsafeRawBufferPointer) -> Bool {
        let count = value.count
        var i = 0
        if let base = value.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= count {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let below0x20 = (word &- ones &* 0x20) & ~word & highBits
                let xorDEL = word ^ (ones &* 0x7F)
                let hasDEL = (xorDEL &- ones) & ~xorDEL & highBits
                if below0x20 | hasDEL != 0 {
                    for j in i..<(i + 8) where !isFieldValueByte(value[j]) {
                        return false
                    }
                }
                i += 8
            }
        }
        while i < count {
            if !isFieldValueByte(value[i]) { return false }
            i += 1
        }
        return true
    }

    /// Whether `c` is optional whitespace (SP or HTAB).
    @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool {
        c == space || c == tab
    }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c &- UInt8(ascii: "a")) &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c &- UInt8(ascii: "A")) &+ 10
        default: nil
        }
    }

    /// Index of the first SP in `line[start...]`, or `line.count`: where a start-line token ends.
    @inline(__always)
    static func endOfToken(in line: UnsafeRawBufferPointer, from start: Int) -> Int {
        var end = start
        while end < line.count, line[end] != space {
            end += 1
        }
        return end
    }

    /// Index of the first LF in `buffer[start...]`, or nil.
    @inline(__always)
    static func firstLF(in buffer: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < buffer.count, let base = buffer.baseAddress else { return nil }
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        // memchr is vectorised by libc; heads are scanned once, line by line.
        guard let hit = memchr(base + start, Int32(lf), buffer.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
        #else
        var i = start
        while i < buffer.count {
            if buffer[i] == lf { return i }
            i += 1
        }
        return nil
        #endif
    }
}
