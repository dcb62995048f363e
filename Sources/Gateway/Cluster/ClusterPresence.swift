internal import GatewayIO
internal import GatewayRedis
internal import Logging

/// This node's sessions as the cluster knows them, and the disconnect hooks of a node that died
/// (DESIGN §8, issue 9 point 5).
///
/// Every session is a field of the hash `<prefix>:conns:<node id>` (a `PresenceRecord`), written
/// when it opens or changes (user, rooms) and removed when it ends; a graceful stop deletes the
/// hash. When the heartbeat declares a node lost (which happens on one node of the cluster only:
/// the one whose `SREM` removed it), `nodeLost` reads that node's hash and sends each session's
/// disconnect hook from here, with code 1006 and reason `node lost`, then deletes the hash: once
/// per session.
///
/// Loop-confined to loop 0; it shares the command connection of the shard that holds the node set.
final class ClusterPresence {
    /// The command connection presence writes on (the heartbeat's).
    let commands: RedisConnection
    private unowned let hub: GatewayHub
    private let prefix: String
    private let logger: Logger
    /// This node's hash.
    let key: String
    /// Hooks sent on behalf of lost nodes.
    private(set) var hooksSentForLostNodes: UInt64 = 0
    /// Set by `leave`: no session is recorded any more (a late write would re-create the hash of a
    /// node that left, and nobody would ever delete it).
    private var left = false
    /// Whether `commands` was up before: every later time it comes up, the hash is written again.
    private var wasUp = false

    init(node: String, prefix: String, commands: RedisConnection, hub: GatewayHub, logger: Logger) {
        self.commands = commands
        self.hub = hub
        self.prefix = prefix
        self.logger = logger
        self.key = "\(prefix):conns:\(node)"
    }

    /// A session opened or changed (`record`), or ended (nil).
    func update(_ id: String, _ record: PresenceRecord?) {
        if let record {
            guard !left else { return }
            send(RedisCommand(arguments: [Array("HSET".utf8), Array(key.utf8), Array(id.utf8), record.json]))
        } else {
            send(RedisCommand("HDEL", key, id))
        }
    }

    /// The command connection came up. After an outage the hash may be gone (a Redis restarted
    /// without persistence, or failed over to a replica that missed writes), and with it the hooks
    /// of this node's sessions should it die: write it again from the live sessions. Each loop's
    /// records hop to loop 0 after every change that loop sent before, so nothing stale wins.
    func connectionUp() {
        defer { wasUp = true }
        guard wasUp, !left else { return }
        send(RedisCommand("DEL", key))
        // Only loop 0 touches `self`: the other loops hand their records back to it.
        let me = SendableBox(self), hub = self.hub
        for i in 0..<hub.loopCount {
            hub.onLoop(i) { ctx in
                let records = ctx.sessions.sessions.elements.compactMap { h -> (String, PresenceRecord)? in
                    ctx.presenceRecord(h).map { (h.key.string, $0) }
                }
                hub.onLoop(0) { _ in for (id, record) in records { me.value.update(id, record) } }
            }
        }
    }

    /// A graceful stop: this node's sessions ended here (their hooks are this node's), so the hash goes.
    func leave() {
        left = true
        send(RedisCommand("DEL", key))
    }

    /// The record of session `id` of node `node`, or nil when that node has no such session.
    func record(of id: String, node: String, _ done: @escaping (PresenceRecord?) -> Void) {
        send(RedisCommand("HGET", "\(prefix):conns:\(node)", id)) { result in
            if case .success(.bulk(let json?)) = result { done(PresenceRecord(json: json)) } else { done(nil) }
        }
    }

    /// Sends the disconnect hook of every session of lost node `node`, then forgets them.
    func nodeLost(_ node: String) {
        let lostKey = "\(prefix):conns:\(node)"
        send(RedisCommand("HGETALL", lostKey)) { [self] result in
            guard case .success(.array(let items?)) = result else {
                logger.error("cluster: cannot read the sessions of lost node \(node): \(result)")
                return
            }
            var sent = 0
            var i = 0
            while i + 1 < items.count {
                defer { i += 2 }
                guard case .bulk(let id?) = items[i], case .bulk(let json?) = items[i + 1],
                    let record = PresenceRecord(json: json)
                else { continue }
                if sendHook(id: String(decoding: id, as: UTF8.self), record) { sent += 1 }
            }
            hooksSentForLostNodes += UInt64(sent)
            logger.notice("cluster: sent \(sent) disconnect hook(s) for the sessions of lost node \(node)")
            send(RedisCommand("DEL", lostKey))
        }
    }

    /// Queues one lost session's disconnect hook on loop 0's dispatcher (retried with backoff like
    /// every disconnect hook). False when its module has no disconnect hook here.
    private func sendHook(id: String, _ record: PresenceRecord) -> Bool {
        guard let ctx = hub.context(0), let hook = ctx.runtime.modules[record.module]?.config.disconnect,
            let connection = ConnectionKey(parsing: id)
        else { return false }
        let duration = max(0, Int64(WallClock.ms()) - record.openedMs)
        ctx.postDisconnectHook(
            target: hook, key: connection, user: record.user, rooms: record.rooms, code: 1006, reason: "node lost",
            durationMs: Int(duration))
        return true
    }

    private func send(_ command: RedisCommand, _ completion: RedisConnection.Completion? = nil) {
        do throws(RedisError) {
            try commands.send(command, completion: completion)
        } catch {
            logger.warning("cluster: presence update dropped: \(error)")
        }
    }
}
