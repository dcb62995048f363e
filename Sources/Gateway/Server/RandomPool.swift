internal import Glibc

/// Bytes from the kernel's CSPRNG, fetched 4 KiB at a time and handed out in small pieces.
///
/// Connection ids must be unguessable, so they come from `getrandom` rather than a seeded PRNG; but
/// one syscall per id (two with `SystemRandomNumberGenerator`, which asks for 8 bytes at a time) is
/// a measurable share of a handshake. One pool per loop, touched only on that loop's thread; a refill
/// is one `getrandom` call every 341 connections. Bytes are used once and the consumed part is zeroed.
struct RandomPool {
    /// 4 KiB: one page, one syscall per refill; large enough that the syscall is amortized away,
    /// small enough that a leaked core dump holds few unused bytes.
    static let capacity = 4096

    private var bytes = [UInt8](repeating: 0, count: RandomPool.capacity)
    private var next = RandomPool.capacity

    /// Fills `out` with fresh random bytes (at most `capacity` at a time).
    mutating func fill(_ out: UnsafeMutableRawBufferPointer) {
        precondition(out.count <= Self.capacity)
        if next + out.count > Self.capacity { refill() }
        bytes.withUnsafeMutableBytes { raw in
            let start = next
            for i in 0..<out.count {
                out[i] = raw[start + i]
                raw[start + i] = 0
            }
        }
        next += out.count
    }

    private mutating func refill() {
        // arc4random_buf is glibc's getrandom wrapper (2.36+): it never fails and blocks only before
        // the kernel's pool is initialized at boot.
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { arc4random_buf(base, raw.count) }
        }
        next = 0
    }
}
