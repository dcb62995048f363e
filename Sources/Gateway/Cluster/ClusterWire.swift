/// The pieces both cluster wire forms (`ClusterMessage`, `ClusterControl`) are made of: big-endian
/// integers, names with a 16-bit length, and connection keys with their node's id. Writing appends
/// to a byte array; reading goes through `ClusterWireReader`.
extension Array where Element == UInt8 {
    /// Appends `v` big-endian.
    mutating func appendWire<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends a name: u16 length, then its UTF-8 (cut at 65,535 bytes).
    mutating func appendWireName(_ s: String) {
        let b = Array(s.utf8.prefix(Int(UInt16.max)))
        appendWire(UInt16(b.count))
        append(contentsOf: b)
    }

    /// Appends a list of names: u16 count, then each name.
    mutating func appendWireNames(_ names: [String]) {
        let n = Swift.min(names.count, Int(UInt16.max))
        appendWire(UInt16(n))
        for s in names.prefix(n) { appendWireName(s) }
    }

    /// Appends a short string: u8 length, then its UTF-8 (cut at 255 bytes).
    mutating func appendWireShortString(_ s: String) {
        let b = Array(s.utf8.prefix(255))
        append(UInt8(b.count))
        append(contentsOf: b)
    }

    /// Appends a connection key: its node's id (short string), loop (u8), high (u64), low (u32).
    mutating func appendWireKey(_ k: ConnectionKey) {
        appendWireShortString(NodeNames.name(k.node))
        append(k.loop)
        appendWire(k.high)
        appendWire(k.low)
    }

    /// Appends keys: u16 count, then each key.
    mutating func appendWireKeys(_ keys: [ConnectionKey]) {
        let n = Swift.min(keys.count, Int(UInt16.max))
        appendWire(UInt16(n))
        for k in keys.prefix(n) { appendWireKey(k) }
    }
}

/// Reads the pieces of `Array.appendWire…` off the front of the bytes, failing with `.truncated`
/// past their end.
struct ClusterWireReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The bytes not read yet.
    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[offset...]) }

    mutating func take(_ n: Int) throws(ClusterMessage.DecodeError) -> UnsafeRawBufferPointer {
        guard n <= bytes.count - offset else { throw .truncated }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(ClusterMessage.DecodeError) -> T {
        let b = try take(MemoryLayout<T>.size)
        var v: T = 0
        for byte in b { v = v << 8 | T(byte) }
        return v
    }

    mutating func u8() throws(ClusterMessage.DecodeError) -> UInt8 { try integer(UInt8.self) }
    mutating func u16() throws(ClusterMessage.DecodeError) -> UInt16 { try integer(UInt16.self) }

    mutating func string(length: Int) throws(ClusterMessage.DecodeError) -> String {
        String(decoding: try take(length), as: UTF8.self)
    }

    mutating func shortString() throws(ClusterMessage.DecodeError) -> String { try string(length: Int(u8())) }
    mutating func name() throws(ClusterMessage.DecodeError) -> String { try string(length: Int(u16())) }

    mutating func names() throws(ClusterMessage.DecodeError) -> [String] {
        var out: [String] = []
        for _ in 0..<(try u16()) { out.append(try name()) }
        return out
    }

    /// A key, its node resolved against this process's `NodeNames`; nil (after reading it) when it
    /// names a node the table has no room for, which cannot own a connection here.
    mutating func key() throws(ClusterMessage.DecodeError) -> ConnectionKey? {
        let owner = try shortString()
        let loop = try u8()
        let high = try integer(UInt64.self)
        let low = try integer(UInt32.self)
        guard let node = NodeNames.index(ofOwner: Substring(owner)) else { return nil }
        return ConnectionKey(node: node, loop: loop, high: high, low: low)
    }

    /// Keys; those of nodes `NodeNames` has no room for are dropped.
    mutating func keys() throws(ClusterMessage.DecodeError) -> [ConnectionKey] {
        let n = Int(try u16())
        var out: [ConnectionKey] = []
        out.reserveCapacity(n)
        for _ in 0..<n { if let k = try key() { out.append(k) } }
        return out
    }
}
