/// Splits a fuzzer input into option bytes (taken from the front) and the payload that follows.
/// Missing option bytes read as 0, so every input, even an empty one, is usable.
public struct FuzzInput {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = UnsafeRawBufferPointer(start: data, count: size)
    }

    /// The next option byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next two option bytes as a little-endian number.
    public mutating func uint16() -> UInt16 {
        UInt16(byte()) | UInt16(byte()) << 8
    }

    /// Everything after the option bytes.
    public var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...])
    }
}

/// SplitMix64: a tiny deterministic generator, so a chunking or pause pattern derived from the input
/// replays exactly.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (bound > 0); slightly biased, which does not matter here.
    public mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}

/// Renders bytes for an invariant message: printable ASCII as is, the rest escaped, cut at `limit`.
public func show(_ bytes: some Collection<UInt8>, limit: Int = 200) -> String {
    var out = ""
    for b in bytes.prefix(limit) {
        switch b {
        case 0x0D: out += "\\r"
        case 0x0A: out += "\\n"
        case 0x5C: out += "\\\\"
        case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
        default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    return bytes.count > limit ? out + "…(\(bytes.count) bytes)" : out
}

extension Result {
    /// The error of a failed result, or nil.
    public var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
