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
/// Channels: `<prefix>:all` carries every delivery in this first slice of the cluster (rooms, users
/// and connection lists too, each filtered by the receiving node against its own sessions, so each
/// recipient still gets a delivery once); `<prefix>:node:<id>` is subscribed for deliveries
/// addressed to this node. Per-room and per-user channels, subscribed only while a room or user has
/// members here, come next.
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
    /// Publishes that Redis' outbound queue refused (`gateway_cluster_dropped_total`).
    private(set) var dropped: UInt64 = 0
    /// Messages from other nodes delivered here, and ones that could not be decoded.
    private(set) var received: UInt64 = 0
    private(set) var undecodable: UInt64 = 0

    /// The channel every node subscribes to.
    var allChannel: String { "\(settings.prefix):all" }
    /// This node's own channel.
    var nodeChannel: String { "\(settings.prefix):node:\(node)" }

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
        let command = RedisCommand(arguments: [Array("PUBLISH".utf8), Array(allChannel.utf8), bytes])
        hub.onLoop(0) { [self] _ in
            guard let publisher else { return }
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
        guard decoded.origin != node, let ctx = hub.context(0) else { return }
        received += 1
        let frames = decoded.data.withUnsafeBytes {
            PushFrames(command: decoded.command, data: $0, dataIsJSON: decoded.dataIsJSON, binary: decoded.binary,
                       parsers: ctx.runtime.parsers)
        }
        hub.dispatch(Delivery(target: decoded.target, except: decoded.except, frames: frames), from: ctx)
    }
}
