internal import GatewayIO
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
/// A delivery to several rooms (`deliver: room`) is published on each room's channel; a node that
/// has members in several of them gets several copies and delivers only the one that came on the
/// first of those rooms it subscribes to, so each recipient still gets it once. A member who joins
/// a room receives the room's deliveries once Redis confirmed the subscription (a few hundred
/// microseconds), not the ones published before.
final class ClusterNode: ClusterLink, RedisConnectionDelegate, @unchecked Sendable {
    // @unchecked: `settings`, `node`, `urls` and `hub` are immutable; `publisher`, `subscriber` and
    // the counters are touched only on loop 0's thread (start, the delegate, the hopped publishes).
    let settings: ClusterSettings
    let node: String
    let urls: [RedisURL]
    private unowned let hub: GatewayHub
    private let logger: Logger
    private var publisher: RedisConnection?
    private var subscriber: RedisConnection?
    /// Channels subscribed for rooms and users, with the number of loops that have members.
    private var interests: [String: Int] = [:]
    /// Publishes that Redis' outbound queue refused (`gateway_cluster_dropped_total`).
    private(set) var dropped: UInt64 = 0
    /// Messages from other nodes delivered here, and ones that could not be decoded.
    private(set) var received: UInt64 = 0
    private(set) var undecodable: UInt64 = 0

    /// The channel every node subscribes to.
    var allChannel: String { "\(settings.prefix):all" }
    /// This node's own channel.
    var nodeChannel: String { "\(settings.prefix):node:\(node)" }
    /// The channel of a room.
    func roomChannel(_ name: String) -> String { "\(settings.prefix):room:\(name)" }
    /// The channel of a user.
    func userChannel(_ id: String) -> String { "\(settings.prefix):user:\(id)" }

    /// The channels a delivery to `target` is published on.
    func channels(for target: DeliveryTarget) -> [String] {
        switch target {
        case .all: [allChannel]
        case .connections(let keys):
            // Straight to the nodes that own them; this node's own were delivered here already.
            keys.reduce(into: [String]()) { out, k in
                guard !k.isLocal else { return }
                let c = "\(settings.prefix):node:\(NodeNames.name(k.node))"
                if !out.contains(c) { out.append(c) }
            }
        case .room(let r): [roomChannel(r)]
        case .rooms(let rs):
            rs.reduce(into: [String]()) { out, r in
                let c = roomChannel(r)
                if !out.contains(c) { out.append(c) }
            }
        case .user(let u): [userChannel(u)]
        }
    }

    /// Whether a delivery that arrived on `channel` is the copy this node delivers: always, except
    /// for a several-rooms delivery, which is delivered from the first of its rooms subscribed here.
    func isDeliveredCopy(_ message: ClusterMessage, channel: String) -> Bool {
        guard case .rooms(let rs) = message.target else { return true }
        for r in rs {
            let c = roomChannel(r)
            if interests[c] != nil { return c == channel }
        }
        return false
    }

    /// - Parameter urls: `settings.redis`, parsed (the config loader validated them). Only the first
    ///   is used until sharding over several lands.
    init(settings: ClusterSettings, node: String, urls: [RedisURL], hub: GatewayHub, logger: Logger) {
        self.settings = settings
        self.node = node
        self.urls = urls
        self.hub = hub
        self.logger = logger
    }

    /// Opens the Redis connections on `loop` (loop 0) and subscribes. Call on that loop.
    func start(on loop: EventLoop) {
        guard let url = urls.first else { return }
        let pub = RedisConnection(url: url, loop: loop, role: .commands)
        let sub = RedisConnection(url: url, loop: loop, role: .subscriber)
        pub.delegate = self
        sub.delegate = self
        publisher = pub
        subscriber = sub
        do throws(RedisError) {
            try sub.subscribe([allChannel, nodeChannel])
        } catch {
            logger.error("cluster: cannot subscribe on \(url): \(error)")
        }
        pub.start()
        sub.start()
    }

    /// Closes the Redis connections and lets them go (at shutdown, on loop 0, while it still runs:
    /// a connection's timer belongs to the loop, so it must not outlive it).
    func stop() {
        publisher?.close()
        subscriber?.close()
        publisher = nil
        subscriber = nil
    }

    // MARK: ClusterLink

    func publish(_ message: ClusterMessage) {
        var bytes: [UInt8] = []
        message.encode(into: &bytes)
        let commands = channels(for: message.target).map {
            RedisCommand(arguments: [Array("PUBLISH".utf8), Array($0.utf8), bytes])
        }
        hub.onLoop(0) { [self] _ in
            guard let publisher else { return }
            for command in commands {
                do throws(RedisError) {
                    try publisher.send(command)
                } catch {
                    dropped += 1
                    if dropped == 1 || dropped % 1000 == 0 {
                        logger.warning("cluster: publish dropped (\(dropped) so far): \(error)")
                    }
                }
            }
        }
    }

    func interest(_ change: SessionShard.IndexChange) {
        hub.onLoop(0) { [self] _ in
            let channel: String, delta: Int
            switch change {
            case .roomAppeared(let r): (channel, delta) = (roomChannel(r), 1)
            case .roomVanished(let r): (channel, delta) = (roomChannel(r), -1)
            case .userAppeared(let u): (channel, delta) = (userChannel(u), 1)
            case .userVanished(let u): (channel, delta) = (userChannel(u), -1)
            }
            let loops = (interests[channel] ?? 0) + delta
            interests[channel] = loops > 0 ? loops : nil
            guard let subscriber, loops == (delta > 0 ? 1 : 0) else { return }
            do throws(RedisError) {
                if delta > 0 { try subscriber.subscribe([channel]) } else { try subscriber.unsubscribe([channel]) }
            } catch {
                logger.warning("cluster: cannot \(delta > 0 ? "subscribe to" : "unsubscribe from") \(channel): \(error)")
            }
        }
    }

    // MARK: RedisConnectionDelegate

    func redisConnection(_ connection: RedisConnection, didChangeState state: RedisConnectionState) {
        guard state != .connecting else { return }
        let role = connection === subscriber ? "subscriber" : "publisher"
        logger.notice("cluster: redis \(connection.url) \(state) (\(role))")
    }

    func redisConnection(_ connection: RedisConnection, didReceive message: RedisPushMessage) {
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
            isDeliveredCopy(decoded, channel: String(decoding: message.channel, as: UTF8.self))
        else { return }
        received += 1
        let frames = decoded.data.withUnsafeBytes {
            PushFrames(command: decoded.command, data: $0, dataIsJSON: decoded.dataIsJSON, binary: decoded.binary,
                       parsers: ctx.runtime.parsers)
        }
        hub.dispatch(Delivery(target: decoded.target, except: decoded.except, frames: frames), from: ctx)
    }
}
