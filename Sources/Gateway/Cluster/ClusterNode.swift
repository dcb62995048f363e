internal import GatewayIO
internal import GatewayWebSocket
internal import GatewayRedis
internal import Logging

/// This node's place in the cluster (DESIGN §8): publishes the deliveries that start here for the
/// other nodes and delivers theirs to the connections here, through Redis.
///
/// Threads: `publish` is called on any loop; everything else runs on loop 0, which owns the two
/// Redis connections (one pipelining `PUBLISH`es, one subscribed). A publish hops to loop 0 through
/// its task queue, which keeps the order of the deliveries of one loop (and so of one connection).
///
/// Channels (DESIGN §8: traffic for a room reaches only the nodes with members):
/// - `<prefix>:all` for `all` and `others`;
/// - `<prefix>:room:<name>` and `<prefix>:user:<id>`, subscribed while any loop here has a member
///   (`interest`), unsubscribed when the last one leaves;
/// - `<prefix>:node:<id>` for deliveries to connections of this node (connection ids name their
///   node: `<id>.<26 hex digits>`).
/// A delivery to several rooms (`deliver: room`) is published on each room's channel (the copies on
/// one instance in one script run); a node that has members in several of them gets several copies
/// and delivers only the one that came on the first of those rooms it was subscribed to when the
/// delivery was published (`RoomCopies`), so each recipient still gets it once. A member who joins
/// a room receives the room's deliveries once Redis confirmed the subscription (a few hundred
/// microseconds), not the ones published before.
final class ClusterNode: ClusterLink, RedisConnectionDelegate, @unchecked Sendable {
    // @unchecked: `settings`, `node`, `urls` and `hub` are immutable; `publisher`, `subscriber` and
    // the counters are touched only on loop 0's thread (start, the delegate, the hopped publishes).
    let settings: ClusterSettings
    let node: String
    let urls: [RedisURL]
    unowned let hub: GatewayHub
    let logger: Logger
    /// One Redis instance's two connections.
    struct Shard {
        /// Pipelines this node's `PUBLISH`es for the channels that hash to this instance.
        let publisher: RedisConnection
        /// Subscribes to those channels.
        let subscriber: RedisConnection
    }

    /// One per `urls`, in config order (every node must list the same instances in the same order,
    /// as a channel's instance is a function of the channel and the count). Empty until `start`.
    private(set) var shards: [Shard] = []
    /// Channels subscribed for rooms and users, with the number of loops that have members.
    private var interests = ChannelInterest()
    /// The subscriptions Redis has confirmed, as of the message being read: which copy of a
    /// several-rooms delivery to deliver (not `interests`, which run ahead of what Redis has).
    private var copies: RoomCopies
    /// Publishes that Redis' outbound queue refused (`gateway_cluster_dropped_total`).
    private(set) var dropped: UInt64 = 0
    /// Messages from other nodes delivered here, and ones that could not be decoded.
    private(set) var received: UInt64 = 0
    private(set) var undecodable: UInt64 = 0
    /// Cross-node latency of the deliveries received: from the origin's publish to this node taking
    /// the message off Redis, on the two nodes' wall clocks (`gateway_cluster_delivery_latency_seconds`).
    private(set) var latency = LatencyHistogram(bounds: LatencyHistogram.crossNodeBounds)

    // Heartbeats, the node list, `/v1/cluster` and metrics (ClusterHeartbeat.swift, ClusterNode+Status.swift).
    /// `PUBLISH`es handed to Redis' command connections (`gateway_cluster_published_total`).
    private(set) var published: UInt64 = 0
    /// The public listen address as bound, for this node's heartbeat record; set before `start(on:)`.
    var address = ""
    /// This node's heartbeat and view of the other nodes; made by `start(on:)`.
    private(set) var heartbeat: ClusterHeartbeat?
    /// This node's sessions in Redis, and the hooks of lost nodes; made by `start(on:)`.
    private(set) var presence: ClusterPresence?
    /// Presence questions this node asked, by request (ClusterNode+Query.swift).
    var queries: [UInt32: PendingQuery] = [:]
    var nextQuery: UInt32 = 0
    /// Redis connections whose last logged state was up (so a down is logged once per outage).
    private var loggedUp: Set<ObjectIdentifier> = []
    /// Command connections holding their queue until the other nodes resubscribed (ClusterNode+Resync.swift).
    var gates: [ObjectIdentifier: QueueGate] = [:]
    /// Loop 0, once started (the questions' timers run on it).
    private(set) var queryLoop: EventLoop?
    /// The I/O engine's name, for this node's stats answers; set before `start(on:)`.
    var engine = ""
    /// Loop time at `start(on:)`, for this node's uptime in stats answers.
    private(set) var startedAt: UInt64 = 0
    /// The connections to Redis, commands first (for the heartbeat, `/v1/cluster` and metrics).
    var redisConnections: [RedisConnection] { shards.flatMap { [$0.publisher, $0.subscriber] } }

    /// The channels' names (ClusterChannels.swift).
    let names: ClusterChannels
    /// This node's own channel.
    var nodeChannel: String { names.node(node) }

    /// Whether a delivery that arrived on `channel` is the copy this node delivers: always, except
    /// for a several-rooms delivery, which is delivered from the first of its rooms that was
    /// subscribed here when it was published (`RoomCopies`).
    func isDeliveredCopy(_ target: DeliveryTarget, arrivedOn channel: String) -> Bool {
        guard case .rooms(let rs) = target else { return true }
        let count = urls.count
        return copies.delivers(copyOn: channel, of: rs.map(names.room), shard: { Self.shard(of: $0, count: count) })
    }

    /// The instance a channel lives on: jump consistent hash (Lamping and Veach) of the channel's
    /// 64-bit FNV-1a hash over the instance count, so adding an instance moves only 1/n of the
    /// channels and every node computes the same answer.
    static func shard(of channel: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        var key: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in channel.utf8 {
            key ^= UInt64(byte)
            key &*= 0x0000_0100_0000_01b3
        }
        var b: Int64 = -1, j: Int64 = 0
        while j < Int64(count) {
            b = j
            key = key &* 2_862_933_555_777_941_757 &+ 1
            j = Int64(Double(b + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int(b)
    }

    /// The shard that carries `channel`.
    func shard(for channel: String) -> Shard? {
        shards.isEmpty ? nil : shards[Self.shard(of: channel, count: shards.count)]
    }

    /// - Parameter urls: `settings.redis`, parsed (the config loader validated them): the instances
    ///   channels are sharded over.
    init(settings: ClusterSettings, node: String, urls: [RedisURL], hub: GatewayHub, logger: Logger) {
        self.settings = settings
        self.node = node
        self.urls = urls
        self.names = ClusterChannels(prefix: settings.prefix)
        copies = RoomCopies(instances: urls.count)
        self.hub = hub
        self.logger = logger
    }

    /// Opens the Redis connections on `loop` (loop 0) and subscribes. Call on that loop.
    func start(on loop: EventLoop) {
        queryLoop = loop
        startedAt = loop.now
        shards = urls.map { url in
            let shard = Shard(publisher: RedisConnection(url: url, loop: loop, role: .commands),
                              subscriber: RedisConnection(url: url, loop: loop, role: .subscriber))
            shard.publisher.delegate = self
            shard.subscriber.delegate = self
            return shard
        }
        for channel in [names.all, nodeChannel] { subscribe(channel) }
        // The ready channel lives on every instance: it tells the others this node is subscribed there.
        for shard in shards {
            do throws(RedisError) { try shard.subscriber.subscribe([names.ready(node)]) } catch {
                logger.warning("cluster: cannot subscribe to \(names.ready(node)) on \(shard.subscriber.url): \(error)")
            }
        }
        for shard in shards {
            shard.publisher.start()
            shard.subscriber.start()
        }
        // Heartbeats and the node list share a command connection (ClusterHeartbeat.swift): the one
        // of the shard that carries the node set, so every node reads and writes the same instance.
        if let beatShard = shard(for: "\(settings.prefix):nodes") {
            let beat = ClusterHeartbeat(node: node, settings: settings, address: address, commands: beatShard.publisher, hub: hub, loop: loop, logger: logger)
            let sessions = ClusterPresence(node: node, prefix: settings.prefix, commands: beatShard.publisher, hub: hub, logger: logger)
            beat.onNodeLost = { [unowned sessions] in sessions.nodeLost($0) }
            heartbeat = beat
            presence = sessions
            beat.start()
        }
    }

    /// Closes the Redis connections and lets them go (at shutdown, on loop 0, while it still runs:
    /// a connection's timer belongs to the loop, so it must not outlive it).
    func stop() {
        heartbeat?.stop()
        heartbeat = nil
        presence = nil
        for request in Array(queries.keys) { queries.removeValue(forKey: request)?.timer.cancel() }
        for gate in gates.values { gate.timer.cancel() }
        gates = [:]
        for shard in shards {
            shard.publisher.close()
            shard.subscriber.close()
        }
        shards = []
    }

    private func subscribe(_ channel: String) {
        guard let shard = shard(for: channel) else { return }
        do throws(RedisError) {
            try shard.subscriber.subscribe([channel])
        } catch {
            logger.warning("cluster: cannot subscribe to \(channel) on \(shard.subscriber.url): \(error)")
        }
    }

    private func unsubscribe(_ channel: String) {
        guard let shard = shard(for: channel) else { return }
        do throws(RedisError) {
            try shard.subscriber.unsubscribe([channel])
        } catch {
            logger.warning("cluster: cannot unsubscribe from \(channel) on \(shard.subscriber.url): \(error)")
        }
    }

    // MARK: ClusterLink

    /// Publishes `ARGV[1]` on each channel of `ARGV[2...]`, in order, in one run: Redis runs a
    /// script whole, so no other client's command (another node's `SUBSCRIBE` or `UNSUBSCRIBE`)
    /// falls between the copies of one delivery (`RoomCopies` relies on it).
    static let publishEachScript = "for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end"

    /// The commands that publish `bytes` on `channels` over `instances` Redis instances, each with
    /// its instance and how many publishes (copies) it makes: a `PUBLISH` per channel, except that
    /// with `together` (a several-rooms delivery) the channels that share an instance go in one
    /// script run.
    static func publishCommands(
        _ bytes: [UInt8], on channels: [String], together: Bool, instances: Int
    ) -> [(shard: Int, copies: Int, command: RedisCommand)] {
        var groups: [(shard: Int, channels: [String])] = []
        for c in channels {
            let s = shard(of: c, count: instances)
            if together, let i = groups.firstIndex(where: { $0.shard == s }) {
                groups[i].channels.append(c)
            } else {
                groups.append((s, [c]))
            }
        }
        return groups.map { g in
            let command = g.channels.count == 1
                ? RedisCommand(arguments: [Array("PUBLISH".utf8), Array(g.channels[0].utf8), bytes])
                : RedisCommand(arguments: [Array("EVAL".utf8), Array(Self.publishEachScript.utf8), Array("0".utf8), bytes]
                               + g.channels.map { Array($0.utf8) })
            return (g.shard, g.channels.count, command)
        }
    }

    func publish(_ message: ClusterMessage, from loop: EventLoop) {
        var bytes: [UInt8] = []
        message.encode(into: &bytes)
        let together: Bool
        if case .rooms = message.target { together = true } else { together = false }
        let commands = Self.publishCommands(bytes, on: names.carrying(message.target), together: together, instances: urls.count)
        // On loop 0 (the admin API, loop 0's connections) the PUBLISH goes out now; from another
        // loop it hops to loop 0 behind that loop's earlier ones, which keeps their order.
        if loop === queryLoop { return sendPublishes(commands) }
        hub.onLoop(0) { [self] _ in sendPublishes(commands) }
    }

    private func sendPublishes(_ commands: [(shard: Int, copies: Int, command: RedisCommand)]) {
        for (s, n, command) in commands {
            do throws(RedisError) {
                guard s < shards.count else { throw RedisError.closed }
                try shards[s].publisher.send(command)
                published += UInt64(n)
            } catch {
                let before = dropped
                dropped += UInt64(n)
                if before == 0 || before / 1000 != dropped / 1000 {
                    logger.warning("cluster: publish dropped (\(dropped) so far): \(error)")
                }
            }
        }
    }

    func sessionChanged(_ id: String, _ record: PresenceRecord?) {
        hub.onLoop(0) { [self] _ in presence?.update(id, record) }
    }

    func forward(_ control: ClusterControl, done: @escaping (PresenceRecord?) -> Void) {
        let owner = NodeNames.name(control.key.node), channel = names.node(owner)
        guard let presence else { return done(nil) }
        presence.record(of: control.key.string, node: owner) { [self] record in
            if record != nil { _ = publishRaw(control.encode(), on: channel, what: "admin operation for \(control.key.string)") }
            done(record)
        }
    }

    /// Carries out an admin operation another node forwarded, on the connection's loop.
    private func apply(_ control: ClusterControl) {
        guard control.key.isLocal else { return }
        let key = control.key, operation = control.operation
        hub.onLoop(Int(key.loop)) { owner in
            guard let h = owner.sessions.byID[key], let c = h.connection else { return }
            switch operation {
            case .close(let code, let reason):
                c.close(code: WebSocketCloseCode(rawValue: code), reason: reason)
            case .rooms(let join, let leave):
                owner.sessions.join(h, join)
                owner.sessions.leave(h, leave)
            }
        }
    }

    func interest(_ change: SessionShard.IndexChange) {
        hub.onLoop(0) { [self] _ in
            let (channel, delta) = ChannelInterest.channel(of: change, in: names)
            switch interests.change(channel, by: delta) {
            case .subscribe(let c)?: subscribe(c)
            case .unsubscribe(let c)?: unsubscribe(c)
            case nil: break
            }
        }
    }

    // MARK: RedisConnectionDelegate

    func redisConnection(_ connection: RedisConnection, didConfirm confirmation: RedisSubscriptionConfirmation) {
        guard let s = shards.firstIndex(where: { $0.subscriber === connection }) else { return }
        copies.confirmed(confirmation, shard: s)
    }

    func redisConnection(_ connection: RedisConnection, didChangeState state: RedisConnectionState) {
        if state != .up, connection.role == .subscriber, let s = shards.firstIndex(where: { $0.subscriber === connection }) {
            copies.lost(shard: s)
        }
        guard state != .connecting else { return }
        let role = connection.role == .subscriber ? "subscriber" : "publisher"
        // Each failed attempt while Redis is away goes connecting → down: log the fall once, and
        // every coming back (with the reason it went, for the first line).
        let id = ObjectIdentifier(connection)
        if state == .up {
            loggedUp.insert(id)
            logger.notice("cluster: redis \(connection.url) up (\(role))")
        } else if loggedUp.remove(id) != nil {
            logger.notice("cluster: redis \(connection.url) down (\(role)): \(connection.lastError ?? "closed")")
        }
        guard state == .up, connection.role == .commands else { return }
        if connection.isHoldingQueue { startGate(connection) }
        if let presence, connection === presence.commands {
            // Listed again at once, as the sessions are written again.
            heartbeat?.connectionUp()
            presence.connectionUp()
        }
    }

    func redisConnection(_ connection: RedisConnection, didReceive message: RedisPushMessage) {
        if message.payload.first == ClusterControl.marker {
            if let control = ClusterControl(decoding: message.payload) { apply(control) } else { undecodable += 1 }
            return
        }
        if message.payload.first == ClusterQuery.marker {
            switch ClusterQuery(decoding: message.payload) {
            case .some(let q):
                switch q.body {
                case .ask(let subject): answer(subject, request: q.request, to: q.node)
                case .answer(let payload): received(answer: payload, from: q.node, request: q.request)
                }
            case .none:
                undecodable += 1
            }
            return
        }
        let decoded: ClusterMessage
        do throws(ClusterMessage.DecodeError) {
            decoded = try ClusterMessage.decode(message.payload)
        } catch {
            undecodable += 1
            if undecodable == 1 { logger.warning("cluster: ignoring a message on \(String(decoding: message.channel, as: UTF8.self)): \(error)") }
            return
        }
        // This node delivered its own deliveries locally when they started.
        guard decoded.origin != node, let ctx = hub.context(0),
            isDeliveredCopy(decoded.target, arrivedOn: String(decoding: message.channel, as: UTF8.self))
        else { return }
        received += 1
        let now = WallClock.micros()
        // A clock behind the origin's reads as zero rather than as a negative time.
        latency.record(seconds: now > decoded.sentMicros ? Double(now - decoded.sentMicros) / 1e6 : 0)
        let frames = decoded.data.withUnsafeBytes {
            PushFrames(command: decoded.command, data: $0, dataIsJSON: decoded.dataIsJSON, binary: decoded.binary,
                       parsers: ctx.runtime.parsers)
        }
        hub.dispatch(Delivery(target: decoded.target, except: decoded.except, frames: frames), from: ctx)
    }
}
