/// xorshift64*: a few cycles per value, enough for masking keys and `Sec-WebSocket-Key`s (RFC 6455
/// §5.3 asks for unpredictability against a hostile page in a browser, not cryptographic strength, and
/// a load generator has no such adversary). One per event loop, seeded from the system generator.
struct FastRandom {
    private var state: UInt64

    /// Seeds from `SystemRandomNumberGenerator` (getrandom), mixed with `stream` so loops differ.
    init(stream: Int) {
        var system = SystemRandomNumberGenerator()
        state = (system.next() ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(stream &+ 1))) | 1
        _ = next()
    }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 {
        var x = state
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        state = x
        return x &* 0x2545_F491_4F6C_DD1D
    }

    /// A fresh frame masking key.
    @inline(__always)
    mutating func maskingKey() -> UInt32 {
        UInt32(truncatingIfNeeded: next() >> 16)
    }
}
