internal import GatewayBuffers
/// Trace context helpers. Connection ids themselves are `ConnectionKey`s: opaque, unguessable (96
/// random bits from the system CSPRNG) and prefixed with the loop index so a lookup by id (admin API,
/// cluster delivery) knows which loop owns the connection; text form: 2 hex digits of loop index +
/// 24 hex digits of randomness, e.g. `01f3a9…`.
enum ConnectionID {
    /// Writes a W3C `traceparent` value with a fresh span id into `out`, continuing `traceID` (32
    /// lower-case hex digits, as taken from the client's own `traceparent`) or starting a new trace.
    /// Trace and span ids need to be unique, not secret: they come from a per-loop generator seeded
    /// once from the system's, instead of a `getrandom` system call per id on every backend call.
    static func writeTraceparent(traceID: String?, rng: inout TraceIDGenerator, into out: inout ByteBuffer) {
        out.write(string: "00-")
        if let traceID {
            out.write(string: traceID)
        } else {
            out.write(hex: rng.next(), digits: 16)
            out.write(hex: rng.next(), digits: 16)
        }
        out.write(byte: UInt8(ascii: "-"))
        out.write(hex: rng.next(), digits: 16)
        out.write(string: "-01")
    }

    /// The trace id of a valid W3C `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`), else nil.
    static func traceID(fromTraceparent value: String?) -> String? {
        guard let v = value?.trimmedSpaces(), v.utf8.count == 55 else { return nil }
        let parts = v.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].utf8.count == 2, parts[1].utf8.count == 32, parts[2].utf8.count == 16, parts[3].utf8.count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }),
              parts[0] != "ff", parts[1].utf8.contains(where: { $0 != 48 }) else { return nil }
        return String(parts[1])
    }
}

/// xoshiro256**: fast, good-quality ids for tracing (unique, not secret). One per loop, seeded once
/// from the system generator, so a backend call costs no `getrandom` system call.
struct TraceIDGenerator: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init() {
        var sys = SystemRandomNumberGenerator()
        s0 = sys.next() | 1
        s1 = sys.next()
        s2 = sys.next()
        s3 = sys.next()
    }

    mutating func next() -> UInt64 {
        let x = s1 &* 5
        let result = (x << 7 | x >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }
}
