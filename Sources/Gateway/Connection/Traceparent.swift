internal import GatewayHTTP1
internal import GatewayBuffers
/// W3C trace context (`traceparent`) for backend calls: continuing the client's trace when it sent
/// one, starting a new one otherwise.
enum Traceparent {
    /// Writes a W3C `traceparent` value with a fresh span id into `out`, continuing `traceID` (32
    /// lower-case hex digits, as taken from the client's own `traceparent`) or starting a new trace.
    /// Trace and span ids need to be unique, not secret: they come from a per-loop generator seeded
    /// once from the system's, instead of a `getrandom` system call per id on every backend call.
    static func write(traceID: String?, rng: inout TraceIDGenerator, into out: inout ByteBuffer) {
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
        guard let v = value?.trimmingOWS(), v.utf8.count == 55 else { return nil }
        let parts = v.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].utf8.count == 2, parts[1].utf8.count == 32, parts[2].utf8.count == 16, parts[3].utf8.count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }),
              parts[0] != "ff", parts[1].utf8.contains(where: { $0 != 48 }) else { return nil }
        return String(parts[1])
    }
}
