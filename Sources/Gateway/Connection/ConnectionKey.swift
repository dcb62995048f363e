internal import GatewayBuffers

/// A connection id in 16 bytes instead of a 26-character String on the heap: the loop index and 96
/// random bits. Ids are opaque and unguessable (the bits come from the system CSPRNG), and the loop
/// index lets a lookup by id (admin API, cluster delivery) find the loop that owns the connection.
/// Indexes use the key directly; the text form (2 hex digits of loop index + 24 of randomness, e.g.
/// `01f3a9…`) is produced only where it is shown or sent, and written into buffers without building
/// a String on the hot path (backend call headers).
struct ConnectionKey: Hashable, Sendable {
    let loop: UInt8
    let high: UInt64
    let low: UInt32

    /// A fresh, unguessable key for a connection on `loop`, from the loop's pool of kernel random
    /// bytes (no syscall per connection).
    init(loop: Int, pool: inout RandomPool) {
        var bits: (UInt64, UInt32) = (0, 0)
        withUnsafeMutableBytes(of: &bits) { raw in
            pool.fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<12]))
        }
        self.loop = UInt8(truncatingIfNeeded: loop)
        high = bits.0
        low = bits.1
    }

    /// A key from its parts (as a cluster message carries them).
    init(loop: UInt8, high: UInt64, low: UInt32) {
        self.loop = loop
        self.high = high
        self.low = low
    }

    /// Parses the 26-hex-digit text form; nil for anything else.
    init?(parsing text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 26 else { return nil }
        func value(_ range: Range<Int>) -> UInt64? {
            var v: UInt64 = 0
            for i in range {
                let c = u[i]
                let d: UInt64
                switch c {
                case 48...57: d = UInt64(c - 48)
                case 97...102: d = UInt64(c - 87)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }
        guard let l = value(0..<2), let h = value(2..<18), let lo = value(18..<26) else { return nil }
        loop = UInt8(l)
        high = h
        low = UInt32(lo)
    }

    /// Writes the 26-digit text form.
    func write(into out: inout ByteBuffer) {
        out.write(hex: UInt64(loop), digits: 2)
        out.write(hex: high, digits: 16)
        out.write(hex: UInt64(low), digits: 8)
    }

    /// The text form (allocates; for logs, JSON and admin output).
    var string: String {
        var b = ByteBuffer(capacity: 26)
        write(into: &b)
        return b.description
    }
}
