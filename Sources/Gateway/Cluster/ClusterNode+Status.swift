internal import GatewayBuffers
internal import GatewayJSON
internal import GatewayRedis

/// What `/v1/cluster` and `/metrics` show of the cluster, taken on loop 0 (where the Redis
/// connections and the heartbeat live) as plain values.
struct ClusterStatus: Sendable, Equatable {
    /// One node of `nodes`.
    struct Node: Sendable, Equatable {
        var id: String
        var address: String
        /// nil for this node before Redis accepted its first heartbeat.
        var lastHeartbeatMs: Int?
        var connections: Int
        /// This node: either Redis connection is not up. Another: its last heartbeat was more than
        /// one and a half beats old when last read (on Redis' clock), or that read is more than two
        /// beats old (this node cannot see the others now).
        var degraded: Bool
    }

    /// One Redis endpoint in use.
    struct Redis: Sendable, Equatable {
        /// The URL with its password masked (`RedisURL.description`).
        var url: String
        /// Every connection to it is up.
        var up: Bool
        /// Commands waiting for it to come back (publishes and heartbeats).
        var queued: Int
    }

    var node: String
    /// This node first, then the others by id.
    var nodes: [Node]
    var redis: [Redis]
    var published: UInt64
    var received: UInt64
    var dropped: UInt64
    /// Cross-node latency of the deliveries received.
    var latency = LatencyHistogram(bounds: LatencyHistogram.crossNodeBounds)

    /// The `/v1/cluster` body (DESIGN §8).
    func json() -> [UInt8] {
        var b = ByteBuffer(capacity: 256)
        b.write(string: "{\"node\":")
        JSONWriter.writeString(node, into: &b)
        b.write(string: ",\"nodes\":[")
        for (i, n) in nodes.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"id\":")
            JSONWriter.writeString(n.id, into: &b)
            b.write(string: ",\"address\":")
            JSONWriter.writeString(n.address, into: &b)
            b.write(string: ",\"lastHeartbeatMs\":")
            if let ms = n.lastHeartbeatMs { b.write(decimal: ms) } else { b.write(string: "null") }
            b.write(string: ",\"connections\":")
            b.write(decimal: n.connections)
            b.write(string: n.degraded ? ",\"state\":\"degraded\"}" : ",\"state\":\"up\"}")
        }
        b.write(string: "],\"redis\":[")
        for (i, r) in redis.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"url\":")
            JSONWriter.writeString(r.url, into: &b)
            b.write(string: r.up ? ",\"state\":\"up\"}" : ",\"state\":\"down\"}")
        }
        b.write(string: "]}")
        return b.readableArray
    }

    /// The `/v1/cluster` body of a gateway without `cluster`: one node, no Redis.
    static let standaloneJSON = "{\"node\":null,\"nodes\":[],\"redis\":[]}"
}

extension ClusterNode {
    /// Leaves the cluster at once on a graceful stop (see `ClusterHeartbeat.leave`); `done` runs on
    /// loop 0 when Redis confirmed or after a bounded wait. Call on loop 0.
    func leave(_ done: @escaping () -> Void) {
        presence?.leave()
        guard let heartbeat else { return done() }
        heartbeat.leave(done)
    }

    /// The cluster as this node sees it. Call on loop 0.
    /// - Parameter connections: this node's WebSocket count now (the heartbeat's may be a beat old).
    func status(connections: Int) -> ClusterStatus {
        let conns = redisConnections
        let beat = heartbeat
        var nodes = [ClusterStatus.Node(
            id: node, address: address, lastHeartbeatMs: beat?.lastHeartbeatMs, connections: connections,
            degraded: conns.isEmpty || conns.contains { $0.state != .up })]
        if let beat {
            let stale = beat.viewIsStale
            for (id, peer) in beat.peers.sorted(by: { $0.key < $1.key }) {
                nodes.append(.init(id: id, address: peer.record.address, lastHeartbeatMs: peer.record.heartbeatMs,
                                   connections: peer.record.connections, degraded: stale || beat.view.isLate(peer)))
            }
        }
        // One entry per endpoint (each shard has a command and a subscriber connection).
        var redis: [ClusterStatus.Redis] = []
        for c in conns {
            let url = c.url.description
            if let i = redis.firstIndex(where: { $0.url == url }) {
                redis[i].up = redis[i].up && c.state == .up
                redis[i].queued += c.queuedCommands
            } else {
                redis.append(.init(url: url, up: c.state == .up, queued: c.queuedCommands))
            }
        }
        return ClusterStatus(node: node, nodes: nodes, redis: redis, published: published, received: received, dropped: dropped,
                             latency: latency)
    }
}
