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
        switch operation {
        case .close: out.append(1)
        case .rooms: out.append(2)
        }
        out.appendWireKey(key)
        switch operation {
        case .close(let code, let reason):
            out.appendWire(code)
            out.appendWireName(reason)
        case .rooms(let join, let leave):
            out.appendWireNames(join)
            out.appendWireNames(leave)
        }
        return out
    }

    init(key: ConnectionKey, operation: Operation) {
        self.key = key
        self.operation = operation
    }

    /// Decodes `bytes`; nil unless they are a whole control message (not a `ClusterMessage`, nor
    /// one of another release). The key's node is resolved against this process's `NodeNames`.
    init?(decoding bytes: [UInt8]) {
        // A Result out of a non-throwing closure: a typed-throws closure here trips the 6.3 compiler.
        let decoded = bytes.withUnsafeBytes { raw -> Result<ClusterControl?, ClusterMessage.DecodeError> in
            do throws(ClusterMessage.DecodeError) {
                var r = ClusterWireReader(bytes: raw)
                guard try r.u8() == Self.marker else { return .success(nil) }
                let op = try r.u8()
                guard let key = try r.key() else { return .success(nil) }
                switch op {
                case 1: return .success(ClusterControl(key: key, operation: .close(code: try r.u16(), reason: try r.name())))
                case 2: return .success(ClusterControl(key: key, operation: .rooms(join: try r.names(), leave: try r.names())))
                default: return .success(nil)
                }
            } catch {
                return .failure(error)
            }
        }
        guard case .success(let control?) = decoded else { return nil }
        self = control
    }
}
