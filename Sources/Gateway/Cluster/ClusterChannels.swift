/// The names of the cluster's Redis channels (DESIGN §8), and which a delivery goes out on.
///
/// - `<prefix>:all` for `all` and `others` (every node subscribes);
/// - `<prefix>:room:<name>` and `<prefix>:user:<id>`, subscribed while the node has a member;
/// - `<prefix>:node:<id>`: deliveries and admin operations for the connections of node `id`, and
///   answers to its presence questions;
/// - `<prefix>:ready:<id>`, subscribed by node `id` on every Redis instance (not sharded): tells a
///   publisher that node is subscribed there again after an outage (ClusterNode+Resync.swift).
struct ClusterChannels: Sendable, Equatable {
    let prefix: String

    var all: String { "\(prefix):all" }
    func node(_ id: String) -> String { "\(prefix):node:\(id)" }
    func room(_ name: String) -> String { "\(prefix):room:\(name)" }
    func user(_ id: String) -> String { "\(prefix):user:\(id)" }
    func ready(_ id: String) -> String { "\(prefix):ready:\(id)" }

    /// The channels a delivery to `target` is published on, each once: connections go straight to
    /// the nodes that own them (this node's own were delivered here already), several rooms to each
    /// room's channel.
    func carrying(_ target: DeliveryTarget) -> [String] {
        switch target {
        case .all: [all]
        case .connections(let keys):
            keys.reduce(into: [String]()) { out, k in
                guard !k.isLocal else { return }
                let c = node(NodeNames.name(k.node))
                if !out.contains(c) { out.append(c) }
            }
        case .room(let r): [room(r)]
        case .rooms(let rs):
            rs.reduce(into: [String]()) { out, r in
                let c = room(r)
                if !out.contains(c) { out.append(c) }
            }
        case .user(let u): [user(u)]
        }
    }
}

/// The room and user channels a node subscribes to, counted by the loops that have members: the
/// first loop to gain a member subscribes, the last to lose its last one unsubscribes (DESIGN §8:
/// traffic for a room reaches only the nodes with members).
struct ChannelInterest: Sendable, Equatable {
    /// What a change asks of the subscriber connection.
    enum Action: Equatable, Sendable {
        case subscribe(String)
        case unsubscribe(String)
    }

    private var loops: [String: Int] = [:]

    /// Whether any loop has a member of `channel`'s room or user.
    func contains(_ channel: String) -> Bool { loops[channel] != nil }

    /// How many channels are wanted.
    var count: Int { loops.count }

    /// One loop gained its first member (`delta` 1) or lost its last (-1) of `channel`'s room or
    /// user; the action to take, if the node's interest changed.
    mutating func change(_ channel: String, by delta: Int) -> Action? {
        let before = loops[channel] ?? 0
        let after = max(0, before + delta)
        loops[channel] = after > 0 ? after : nil
        if before == 0 && after > 0 { return .subscribe(channel) }
        if before > 0 && after == 0 { return .unsubscribe(channel) }
        return nil
    }

    /// The channel and delta of a loop's index change.
    static func channel(of change: SessionShard.IndexChange, in names: ClusterChannels) -> (String, Int) {
        switch change {
        case .roomAppeared(let r): (names.room(r), 1)
        case .roomVanished(let r): (names.room(r), -1)
        case .userAppeared(let u): (names.user(u), 1)
        case .userVanished(let u): (names.user(u), -1)
        }
    }
}
