internal import GatewayBuffers

/// A connection id in 16 bytes instead of a String on the heap: the owning node (an index into
/// `NodeNames`, 0 for this node), the loop index and 96 random bits. Ids are opaque and
/// unguessable (the bits come from the system CSPRNG); the loop index lets a lookup by id (admin
/// API, delivery) find the loop that owns the connection, and in a cluster the node lets a
/// delivery to a connection go straight to its node. Indexes use the key directly; the text form
/// (26 hex digits: 2 of loop index + 24 of randomness, e.g. `01f3a9…`, prefixed with `<node id>.`
/// in a cluster) is produced only where it is shown or sent, and written into buffers without
/// building a String on the hot path (backend call headers).
struct ConnectionKey: Hashable, Sendable {
    /// The owning node (`NodeNames`); 0 is this node.
    let node: UInt16
    let loop: UInt8
    let high: UInt64
    let low: UInt32

    /// A fresh, unguessable key for a connection on `loop` of this node, from the loop's pool of
    /// kernel random bytes (no syscall per connection).
    init(loop: Int, pool: inout RandomPool) {
        var bits: (UInt64, UInt32) = (0, 0)
        withUnsafeMutableBytes(of: &bits) { raw in
            pool.fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<12]))
        }
        node = 0
        self.loop = UInt8(truncatingIfNeeded: loop)
        high = bits.0
        low = bits.1
    }

    /// A key from its parts (as a cluster message carries them).
    init(node: UInt16 = 0, loop: UInt8, high: UInt64, low: UInt32) {
        self.node = node
        self.loop = loop
        self.high = high
        self.low = low
    }

    /// Whether the connection is on this node.
    var isLocal: Bool { node == 0 }

    /// Parses the text form: 26 hex digits, optionally after `<node id>.`; nil for anything else
    /// (and for an id of a further node once `NodeNames` is full).
    init?(parsing text: some StringProtocol) {
        var node: UInt16 = 0
        var digits = Substring(text)
        if let dot = digits.lastIndex(of: ".") {
            let name = digits[..<dot]
            guard !name.isEmpty, let i = NodeNames.index(ofOwner: name) else { return nil }
            node = i
            digits = digits[digits.index(after: dot)...]
        }
        let u = Array(digits.utf8)
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
        self.node = node
        loop = UInt8(l)
        high = h
        low = UInt32(lo)
    }

    /// Writes the text form.
    func write(into out: inout ByteBuffer) {
        if node == 0 {
            if !NodeNames.selfPrefix.isEmpty { NodeNames.selfPrefix.withUnsafeBytes { out.write($0) } }
        } else {
            out.write(string: NodeNames.name(node))
            out.write(byte: UInt8(ascii: "."))
        }
        // The 26 digits in one copy: every backend call writes the id twice (the connection and
        // the request id), and three appends each cost three times what one does.
        var digits = (
            ByteBuffer.hex8(UInt32(loop)).littleEndian, ByteBuffer.hex8(UInt32(truncatingIfNeeded: high >> 32)).littleEndian,
            ByteBuffer.hex8(UInt32(truncatingIfNeeded: high)).littleEndian, ByteBuffer.hex8(low).littleEndian)
        withUnsafeBytes(of: &digits) { out.write(UnsafeRawBufferPointer(rebasing: $0[6..<32])) }
    }

    /// The text form (allocates; for logs, JSON and admin output).
    var string: String {
        var b = ByteBuffer(capacity: 26 + NodeNames.selfPrefix.count)
        write(into: &b)
        return b.description
    }
}
