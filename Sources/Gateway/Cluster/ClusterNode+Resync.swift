internal import GatewayIO
internal import GatewayRedis
internal import Logging

/// A command connection's held queue, while this node waits for the other nodes to be subscribed
/// again (loop 0).
struct QueueGate {
    /// Loop time the connection came up.
    let since: UInt64
    /// The nodes whose ready channel must have a subscriber on this Redis.
    let expected: [String]
    let timer: LoopTimer
    /// Those of `expected` the last count did not find.
    var missing: [String]
}

/// After Redis comes back (DESIGN §8: publishes made during an outage wait in a bounded queue and go
/// out on reconnect). Redis pub/sub keeps nothing: a publish reaches only the connections subscribed
/// when it runs. Every node reconnects with its own backoff, so the queue a node kept during the
/// outage would reach only the nodes that happened to be back before it. So a command connection
/// that comes up with a queue holds it until every node this one knows has subscribed again on that
/// Redis, or `resyncWaitNanos` passed (a node that died meanwhile does not hold the others' queues
/// for long).
///
/// Each node subscribes, on every Redis, to its ready channel `<prefix>:ready:<node>`. A
/// subscriber subscribes to everything in one `SUBSCRIBE` after a reconnect, and Redis runs a
/// command whole, so a subscriber on a node's ready channel means that node has all its channels on
/// that Redis: `PUBSUB NUMSUB` of the ready channels tells when the queue can go.
extension ClusterNode {
    /// The longest a queue is held after its connection came up: heals take tens of milliseconds
    /// here (every node's backoff restarts at 50 ms when Redis answers), so a second only runs out
    /// for a node that is not coming back.
    static let resyncWaitNanos: UInt64 = 1_000_000_000
    /// How often the ready channels are counted while holding.
    static let resyncProbeNanos: UInt64 = 20_000_000

    /// Holds when there are other nodes to wait for.
    func redisConnectionShouldHoldQueue(_ connection: RedisConnection) -> Bool {
        !(heartbeat?.peers.isEmpty ?? true)
    }

    /// Starts counting the ready channels for a connection that came up holding its queue.
    func startGate(_ connection: RedisConnection) {
        guard let loop = queryLoop else { return connection.releaseQueue() }
        let id = ObjectIdentifier(connection)
        gates[id]?.timer.cancel()
        let expected = ([node] + (heartbeat?.peers.keys.map { $0 } ?? [])).sorted()
        let timer = loop.makeTimer { [unowned(unsafe) self, unowned(unsafe) connection] in self.probe(connection) }
        gates[id] = QueueGate(since: loop.now, expected: expected, timer: timer, missing: expected)
        probe(connection)
    }

    private func probe(_ connection: RedisConnection) {
        let id = ObjectIdentifier(connection)
        guard let gate = gates[id], connection.isHoldingQueue, let loop = queryLoop else {
            gates.removeValue(forKey: id)?.timer.cancel()
            return
        }
        let waited = loop.now &- gate.since
        guard waited < Self.resyncWaitNanos else {
            return release(connection, after: waited, missing: gate.missing)
        }
        let command = RedisCommand(["PUBSUB", "NUMSUB"] + gate.expected.map { names.ready($0) })
        do throws(RedisError) {
            try connection.sendAhead(command) { [unowned(unsafe) self] result in
                guard let gate = gates[id], connection.isHoldingQueue else { return }
                let missing = Self.unsubscribed(result, of: gate.expected)
                if missing.isEmpty {
                    release(connection, after: loop.now &- gate.since, missing: [])
                } else {
                    gates[id]?.missing = missing
                    gate.timer.schedule(afterNanos: Self.resyncProbeNanos)
                }
            }
        } catch {
            gate.timer.schedule(afterNanos: Self.resyncProbeNanos)
        }
    }

    /// The nodes of `expected` whose ready channel `PUBSUB NUMSUB` did not count (all of them when
    /// the reply is not the expected array).
    static func unsubscribed(_ result: Result<RedisReply, RedisError>, of expected: [String]) -> [String] {
        guard case .success(.array(let items?)) = result, items.count == expected.count * 2 else { return expected }
        var missing: [String] = []
        for (i, id) in expected.enumerated() {
            guard case .integer(let n) = items[2 * i + 1], n > 0 else {
                missing.append(id)
                continue
            }
        }
        return missing
    }

    private func release(_ connection: RedisConnection, after nanos: UInt64, missing: [String]) {
        gates.removeValue(forKey: ObjectIdentifier(connection))?.timer.cancel()
        let queued = connection.queuedCommands
        let ms = nanos / 1_000_000
        if missing.isEmpty {
            logger.notice("cluster: \(queued) command(s) queued for \(connection.url) sent \(ms) ms after it came back, every node subscribed again")
        } else {
            logger.warning("cluster: \(queued) command(s) queued for \(connection.url) sent after \(ms) ms without \(missing.joined(separator: ", ")) subscribed again")
        }
        connection.releaseQueue()
    }
}
