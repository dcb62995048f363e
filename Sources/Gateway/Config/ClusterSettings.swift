/// The `cluster` section (DESIGN §8): several gateway nodes sharing deliveries and presence through
/// Redis. Absent, the gateway is one node, as without this section.
public struct ClusterSettings: Sendable, Equatable {
    /// The Redis endpoints, as written (`redis://[user:password@]host:port[/db]`). Several shard
    /// channels over independent Redis instances by a consistent hash of the channel name.
    public var redis: [String]
    /// This node's id, or nil for a random one chosen at start (and logged). An empty string (as
    /// `${HOSTNAME:-}` gives where the variable is unset) also means random.
    public var node: String?
    /// Prefix of every Redis key and channel the gateway uses, so several clusters (or other
    /// applications) can share one Redis. `gw` by default: short, as it is in every message.
    public var prefix = "gw"
    /// How long a node may miss heartbeats before the others declare it lost, remove its presence
    /// and send its connections' disconnect hooks. 10 s by default: long enough to ride out a
    /// garbage-collection-free but busy node or a Redis failover, short enough that hooks of a dead
    /// node's users do not wait long. Heartbeats go out every third of it.
    public var nodeTimeoutSeconds = 10

    /// The longest node id or prefix: both are in every cluster channel name and, for the node, in
    /// every connection id the node hands out.
    public static let maxNameBytes = 32

    /// Whether `name` can be a node id or prefix: letters, digits, `-` and `_`, at most
    /// `maxNameBytes`. Nothing that could split a channel name (`:`, `.`) or need quoting.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNameBytes
            && name.utf8.allSatisfy { c in
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                    || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
            }
    }
}

extension ClusterSettings {
    /// A node id for a node that was given none: `n` and 10 hex digits from the kernel's CSPRNG
    /// (40 bits: two nodes of one cluster collide with odds far below one in a billion).
    static func randomNodeID() -> String {
        var pool = RandomPool()
        var bits: UInt64 = 0
        withUnsafeMutableBytes(of: &bits) { pool.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<5])) }
        let hex = String(bits, radix: 16)
        return "n" + String(repeating: "0", count: 10 - hex.count) + hex
    }

    /// This node's id: the configured one, or a random one.
    func resolvedNodeID() -> String {
        node ?? Self.randomNodeID()
    }
}
