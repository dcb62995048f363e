/// An admin operation on a connection of another node (DESIGN §5 and §8: the connection endpoints
/// work on a connection of any node), sent on that node's channel. Its own small binary form,
/// told apart from a `ClusterMessage` by its first byte:
/// `marker u8 | op u8 | key (node id: u8 length, bytes; loop u8; high u64; low u32) | operands`,
/// where `close` carries the code (u16) and the reason (u16 length, bytes), and `rooms` the rooms
/// to join and to leave (each: u16 count, then u16 length + bytes per name).
struct ClusterControl: Equatable, Sendable {
    enum Operation: Equatable, Sendable {
        /// `POST /v1/connections/{id}/close`.
        case close(code: UInt16, reason: String)
        /// `POST /v1/connections/{id}/rooms`.
        case rooms(join: [String], leave: [String])
    }

    var key: ConnectionKey
    var operation: Operation

    /// The first byte: never a `ClusterMessage` version (those count up from 1).
    static let marker: UInt8 = 0xC0

    /// The bytes published on the owning node's channel.
    func encode() -> [UInt8] {
        var out: [UInt8] = [Self.marker]
        func u16(_ v: Int) { out.append(UInt8(truncatingIfNeeded: v >> 8)); out.append(UInt8(truncatingIfNeeded: v)) }
        func name(_ s: String) {
            let b = Array(s.utf8.prefix(Int(UInt16.max)))
            u16(b.count)
            out.append(contentsOf: b)
        }
        func names(_ list: [String]) {
            u16(min(list.count, Int(UInt16.max)))
            for n in list.prefix(Int(UInt16.max)) { name(n) }
        }
        switch operation {
        case .close: out.append(1)
        case .rooms: out.append(2)
        }
        let owner = Array(NodeNames.name(key.node).utf8.prefix(255))
        out.append(UInt8(owner.count))
        out.append(contentsOf: owner)
        out.append(key.loop)
        withUnsafeBytes(of: key.high.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: key.low.bigEndian) { out.append(contentsOf: $0) }
        switch operation {
        case .close(let code, let reason):
            u16(Int(code))
            name(reason)
        case .rooms(let join, let leave):
            names(join)
            names(leave)
        }
        return out
    }

    init(key: ConnectionKey, operation: Operation) {
        self.key = key
        self.operation = operation
    }

    /// Decodes `bytes`; nil unless they are a control message (a node of another release, or a
    /// `ClusterMessage`). The key's node is resolved against this process's `NodeNames`.
    init?(decoding bytes: [UInt8]) {
        var i = 0
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, n <= bytes.count - i else { return nil }
            defer { i += n }
            return bytes[i..<(i + n)]
        }
        func int(_ n: Int) -> UInt64? { take(n).map { $0.reduce(0) { $0 << 8 | UInt64($1) } } }
        func name() -> String? {
            guard let n = int(2), let b = take(Int(n)) else { return nil }
            return String(decoding: b, as: UTF8.self)
        }
        func names() -> [String]? {
            guard let n = int(2) else { return nil }
            var out: [String] = []
            for _ in 0..<n {
                guard let s = name() else { return nil }
                out.append(s)
            }
            return out
        }
        guard int(1) == UInt64(Self.marker), let op = int(1), let ownerLength = int(1),
            let ownerBytes = take(Int(ownerLength)), let loop = int(1), let high = int(8), let low = int(4)
        else { return nil }
        let owner = String(decoding: ownerBytes, as: UTF8.self)
        guard let node: UInt16 = owner == NodeNames.name(0) ? 0 : NodeNames.index(of: Substring(owner)) else { return nil }
        key = ConnectionKey(node: node, loop: UInt8(loop), high: high, low: UInt32(low))
        switch op {
        case 1:
            guard let code = int(2), let reason = name() else { return nil }
            operation = .close(code: UInt16(code), reason: reason)
        case 2:
            guard let join = names(), let leave = names() else { return nil }
            operation = .rooms(join: join, leave: leave)
        default:
            return nil
        }
    }
}
