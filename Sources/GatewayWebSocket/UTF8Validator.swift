/// An incremental, strict UTF-8 validator (Unicode 15 §3.9, Table 3-7).
///
/// It is a DFA in the style of Björn Höhrmann's decoder, laid out as a "shift DFA": every state is a
/// multiple of 6, and the table row for a byte packs the next state for each current state into one
/// `UInt64`, so one step is `row[byte] >> state & 63`, a load, a shift and a mask.
///
/// The state survives across calls, so a character may be split across fragments or reads. Invalid
/// input is detected at the first byte that cannot continue any valid sequence (an overlong lead
/// `C0`, `E0 80`, a surrogate `ED A0`, `F4 90` beyond U+10FFFF, ...), which is what Autobahn's
/// "fail fast" cases (6.4.x) check. A sequence cut off at the end is not an error until the caller
/// knows the text is complete: check `isAtBoundary` then.
///
/// ASCII runs, most of a typical JSON payload, are skipped 8 bytes at a time.
public struct UTF8Validator: Sendable, Equatable {
    // States, as bit offsets into a table row. `reject` is 0 so an all-zero row rejects.
    @usableFromInline static let reject: UInt64 = 0
    @usableFromInline static let accept: UInt64 = 6
    static let need1: UInt64 = 12  // one more 80–BF
    static let need2: UInt64 = 18  // two more 80–BF
    static let afterE0: UInt64 = 24  // A0–BF, then one more (no overlongs)
    static let afterED: UInt64 = 30  // 80–9F, then one more (no surrogates)
    static let need3: UInt64 = 36  // three more 80–BF (after F1–F3)
    static let afterF0: UInt64 = 42  // 90–BF, then two more (no overlongs)
    static let afterF4: UInt64 = 48  // 80–8F, then two more (nothing above U+10FFFF)

    @usableFromInline var state: UInt64

    /// A validator at the start of a text.
    @inlinable
    public init() {
        state = Self.accept
    }

    /// Whether the bytes so far end on a character boundary and were all valid. A complete text is
    /// valid exactly when this is true after its last byte.
    @inlinable
    public var isAtBoundary: Bool { state == Self.accept }

    /// Whether an invalid byte has been seen. Once true it stays true until `reset()`.
    @inlinable
    public var hasFailed: Bool { state == Self.reject }

    /// Starts over for a new text.
    @inlinable
    public mutating func reset() {
        state = Self.accept
    }

    /// Validates the next bytes of a text.
    /// - Returns: `false` as soon as the bytes so far cannot be the prefix of valid UTF-8; `true` if they
    ///   can (the text may still end mid-character: see `isAtBoundary`).
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != Self.reject else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        let count = bytes.count
        let accept = Self.accept
        let reject = Self.reject
        let start = state
        state = Self.table.withUnsafeBufferPointer { table -> UInt64 in
            var s = start
            var i = 0
            while i < count {
                if s == accept {
                    // ASCII fast path: skip whole words without a high bit.
                    while i &+ 8 <= count {
                        let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                        let high = word & 0x8080_8080_8080_8080
                        if high != 0 {
                            i &+= high.trailingZeroBitCount >> 3  // jump to the first non-ASCII byte
                            break
                        }
                        i &+= 8
                    }
                    guard i < count else { break }
                }
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                s = (table[Int(byte)] >> s) & 63
                if s == reject { break }
                i &+= 1
            }
            return s
        }
        return state != Self.reject
    }

    /// Validates a complete text in one call.
    @inlinable
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isAtBoundary
    }

    /// One row per byte value; bits `[s, s+6)` of a row hold the next state when the current state is `s`.
    static let table: [UInt64] = {
        let states = [accept, need1, need2, afterE0, afterED, need3, afterF0, afterF4]
        var table = [UInt64](repeating: 0, count: 256)
        for byte in 0..<256 {
            var row: UInt64 = 0
            for s in states {
                row |= next(s, UInt8(byte)) << s
            }
            table[byte] = row
        }
        return table
    }()

    /// The transition function written out from Unicode Table 3-7 (well-formed byte sequences).
    private static func next(_ s: UInt64, _ b: UInt8) -> UInt64 {
        switch s {
        case accept:
            switch b {
            case 0x00...0x7F: accept
            case 0xC2...0xDF: need1
            case 0xE0: afterE0
            case 0xE1...0xEC, 0xEE...0xEF: need2
            case 0xED: afterED
            case 0xF0: afterF0
            case 0xF1...0xF3: need3
            case 0xF4: afterF4
            default: reject  // 80–BF (stray continuation), C0–C1 (overlong), F5–FF (beyond U+10FFFF)
            }
        case need1: (0x80...0xBF).contains(b) ? accept : reject
        case need2: (0x80...0xBF).contains(b) ? need1 : reject
        case afterE0: (0xA0...0xBF).contains(b) ? need1 : reject
        case afterED: (0x80...0x9F).contains(b) ? need1 : reject
        case need3: (0x80...0xBF).contains(b) ? need2 : reject
        case afterF0: (0x90...0xBF).contains(b) ? need2 : reject
        case afterF4: (0x80...0x8F).contains(b) ? need2 : reject
        default: reject
        }
    }
}
