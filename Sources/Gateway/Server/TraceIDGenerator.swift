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

    @inline(__always)
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
