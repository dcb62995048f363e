/// A message template with wsload's placeholders, parsed once and rendered without allocating.
///
/// - `{{seq}}`: the per-connection message counter (0, 1, 2 …).
/// - `{{conn}}`: the connection's index (0 ..< connections).
/// - `{{pad:N}}`: N `x` bytes.
/// - `{{ts}}`: a TS marker: `TS` + 19 zero-padded digits of CLOCK_MONOTONIC nanoseconds.
///
/// Unknown placeholders stay as they are, as in wsload.
struct Template: Sendable {
    enum Segment: Sendable {
        /// A range of `literal`.
        case literal(start: Int, count: Int)
        case seq
        case conn
        case pad(Int)
        case ts
    }

    /// A TS marker is `TS` followed by this many digits.
    static let timestampDigits = 19
    /// Length of a whole TS marker.
    static let markerLength = 2 + timestampDigits

    private(set) var segments: [Segment] = []
    /// All literal bytes, back to back.
    private(set) var literal: [UInt8] = []
    /// The longest rendering: literals + 20 digits per number + pads + 21 per TS.
    private(set) var maxLength = 0
    /// Whether the template contains `{{ts}}`.
    private(set) var hasTimestamp = false
    /// The template as given.
    let source: String

    /// Parses `text`. Never fails: anything that is not a known placeholder is literal text.
    init(_ text: String) {
        source = text
        let bytes = Array(text.utf8)
        var i = 0
        var literalStart = 0
        func flushLiteral(upTo end: Int) {
            if end > literalStart {
                segments.append(.literal(start: literal.count, count: end - literalStart))
                literal.append(contentsOf: bytes[literalStart..<end])
                maxLength += end - literalStart
            }
        }
        while i + 1 < bytes.count {
            guard bytes[i] == UInt8(ascii: "{"), bytes[i + 1] == UInt8(ascii: "{"),
                  let close = Self.find(bytes, "}}", from: i + 2) else {
                i += 1
                continue
            }
            let name = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
            let segment: Segment?
            switch name {
            case "seq": segment = .seq
            case "conn": segment = .conn
            case "ts": segment = .ts
            default:
                if name.hasPrefix("pad:"), let n = Int(name.dropFirst(4)), n >= 0 {
                    segment = .pad(n)
                } else {
                    segment = nil
                }
            }
            guard let segment else {
                i = close + 2  // unknown: stays literal
                continue
            }
            flushLiteral(upTo: i)
            segments.append(segment)
            switch segment {
            case .seq, .conn: maxLength += 20
            case .ts: maxLength += Self.markerLength; hasTimestamp = true
            case .pad(let n): maxLength += n
            case .literal: break
            }
            i = close + 2
            literalStart = i
        }
        flushLiteral(upTo: bytes.count)
    }

    private static func find(_ bytes: [UInt8], _ needle: String, from: Int) -> Int? {
        let n = Array(needle.utf8)
        var i = from
        while i + n.count <= bytes.count {
            if bytes[i] == n[0] && bytes[i + 1] == n[1] { return i }
            i += 1
        }
        return nil
    }

    /// Renders into `out` (at least `maxLength` bytes) and returns the number of bytes written.
    /// `ts` is only read when the template has `{{ts}}`.
    @inline(__always)
    func render(into out: UnsafeMutableRawPointer, seq: UInt64, conn: UInt64, ts: UInt64) -> Int {
        var o = 0
        literal.withUnsafeBytes { lit in
            for segment in segments {
                switch segment {
                case .literal(let start, let count):
                    (out + o).copyMemory(from: lit.baseAddress! + start, byteCount: count)
                    o += count
                case .seq:
                    o += Self.writeDecimal(seq, to: out + o)
                case .conn:
                    o += Self.writeDecimal(conn, to: out + o)
                case .pad(let n):
                    (out + o).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: n)
                    o += n
                case .ts:
                    o += Self.writeMarker(ts, to: out + o)
                }
            }
        }
        return o
    }

    /// Writes `value` in decimal; returns the digit count (1–20).
    @inline(__always)
    static func writeDecimal(_ value: UInt64, to out: UnsafeMutableRawPointer) -> Int {
        var digits = 1
        var v = value
        while v >= 10 { v /= 10; digits += 1 }
        v = value
        var i = digits
        repeat {
            i -= 1
            out.storeBytes(of: UInt8(ascii: "0") &+ UInt8(v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
        } while i > 0
        return digits
    }

    /// Writes a TS marker (`TS` + 19 digits); returns `markerLength`.
    @inline(__always)
    static func writeMarker(_ ts: UInt64, to out: UnsafeMutableRawPointer) -> Int {
        out.storeBytes(of: UInt8(ascii: "T"), toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: UInt8(ascii: "S"), toByteOffset: 1, as: UInt8.self)
        var v = ts
        var i = markerLength - 1
        while i >= 2 {
            out.storeBytes(of: UInt8(ascii: "0") &+ UInt8(v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
            i -= 1
        }
        return markerLength
    }
}
