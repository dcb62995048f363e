internal import GatewayBuffers
internal import GatewayIO
internal import GatewayRedis
internal import Logging

/// A question this node asked and the answers so far (loop 0).
struct PendingQuery {
    /// Nodes yet to answer.
    var waiting: Set<String>
    /// Payloads by answering node.
    var answers: [String: [UInt8]] = [:]
    let timer: LoopTimer
    let done: (_ answers: [String: [UInt8]], _ missing: [String]) -> Void
}

/// One node's answer to `.connections`: how many matched, and up to `ClusterNode.maxListed` of
/// them as (id, the JSON object `ConnectionInfo` writes). Wire form: `total u32 | n u32 |
/// n × (id: u16 length + bytes, object: u32 length + bytes)`.
struct ConnectionList: Equatable, Sendable {
    var total: Int
    var entries: [(id: String, json: [UInt8])]

    static func == (a: ConnectionList, b: ConnectionList) -> Bool {
        a.total == b.total && a.entries.elementsEqual(b.entries) { $0.id == $1.id && $0.json == $1.json }
    }

    /// The first `limit` of `infos` (all are counted).
    init(_ infos: [ConnectionInfo], limit: Int) {
        total = infos.count
        entries = infos.prefix(limit).map { (id: $0.id, json: $0.json) }
    }

    init(total: Int, entries: [(id: String, json: [UInt8])]) {
        self.total = total
        self.entries = entries
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.appendWire(UInt32(clamping: total))
        out.appendWire(UInt32(entries.count))
        for e in entries {
            out.appendWireName(e.id)
            out.appendWire(UInt32(e.json.count))
            out.append(contentsOf: e.json)
        }
        return out
    }

    /// Decodes what `encoded` wrote; nil for anything else.
    init?(decoding bytes: [UInt8]) {
        let decoded = bytes.withUnsafeBytes { raw -> ConnectionList? in
            do throws(ClusterMessage.DecodeError) {
                var r = ClusterWireReader(bytes: raw)
                let total = Int(try r.integer(UInt32.self))
                let n = Int(try r.integer(UInt32.self))
                var entries: [(id: String, json: [UInt8])] = []
                for _ in 0..<n {
                    let id = try r.name()
                    let json = Array(try r.take(Int(try r.integer(UInt32.self))))
                    entries.append((id: id, json: json))
                }
                return r.rest.isEmpty ? ConnectionList(total: total, entries: entries) : nil
            } catch {
                return nil
            }
        }
        guard let decoded else { return nil }
        self = decoded
    }
}

/// Presence across the cluster (DESIGN §8): the admin API asks the other nodes and merges their
/// answers with its own. A node answers from its live sessions; a node that does not answer within
/// `queryTimeoutNanos` is named in the answer's `missing`, so a slow or partitioned node makes the
/// answer partial, never late.
extension ClusterNode {
    /// How long the asker waits for answers: a node's loop answers in microseconds and Redis adds a
    /// round trip, so one second only ever runs out for a node that is stalled, partitioned or gone.
    static let queryTimeoutNanos: UInt64 = 1_000_000_000
    /// The most sessions one node lists in an answer (its count is always whole): it keeps an answer
    /// at a few MiB, well inside Redis' and this node's output-buffer limits.
    static let maxListed = 10_000

    /// Asks the other nodes (`only`: that one node; `.connection`: only the node that owns it) and
    /// calls `done` on loop 0 with the answers by node and the nodes that did not answer in time.
    /// A node the heartbeats do not know (never seen, or lost) is not asked: it owns nothing. Call
    /// on loop 0.
    func ask(_ subject: ClusterQuery.Subject, only: String? = nil,
             done: @escaping (_ answers: [String: [UInt8]], _ missing: [String]) -> Void) {
        guard let loop = queryLoop else { return done([:], []) }
        let others = Set(heartbeat?.peers.keys.map { $0 } ?? [])
        var target = only
        if case .connection(let id) = subject {
            guard let key = ConnectionKey(parsing: id), !key.isLocal else { return done([:], []) }
            target = NodeNames.name(key.node)
        }
        let waiting: Set<String>, channel: String
        if let target {
            guard others.contains(target) else { return done([:], []) }
            (waiting, channel) = ([target], names.node(target))
        } else {
            (waiting, channel) = (others, names.all)
        }
        guard !waiting.isEmpty else { return done([:], []) }
        nextQuery &+= 1
        let request = nextQuery
        let timer = loop.makeTimer { [unowned(unsafe) self] in self.finishQuery(request) }
        queries[request] = PendingQuery(waiting: waiting, timer: timer, done: done)
        timer.schedule(afterNanos: Self.queryTimeoutNanos)
        let bytes = ClusterQuery(request: request, node: node, body: .ask(subject)).encode()
        if !publishRaw(bytes, on: channel, what: "presence question") { finishQuery(request) }
    }

    /// Takes an answer to one of this node's questions; the question ends when every node answered.
    func received(answer payload: [UInt8], from answerer: String, request: UInt32) {
        guard var q = queries[request], q.waiting.remove(answerer) != nil else { return }
        q.answers[answerer] = payload
        queries[request] = q
        if q.waiting.isEmpty { finishQuery(request) }
    }

    private func finishQuery(_ request: UInt32) {
        guard let q = queries.removeValue(forKey: request) else { return }
        q.timer.cancel()
        q.done(q.answers, q.waiting.sorted())
    }

    /// Answers another node's question from this node's sessions, on the asker's channel.
    func answer(_ subject: ClusterQuery.Subject, request: UInt32, to asker: String) {
        guard let ctx = hub.context(0), asker != node else { return }
        let reply: ([UInt8]) -> Void = { [self] payload in
            let bytes = ClusterQuery(request: request, node: node, body: .answer(payload)).encode()
            _ = publishRaw(bytes, on: names.node(asker), what: "presence answer")
        }
        switch subject {
        case .connections(let room, let user):
            hub.connectionInfos(room: room, user: user, from: ctx.loop) { reply(ConnectionList($0, limit: Self.maxListed).encoded) }
        case .connection(let id):
            guard let key = ConnectionKey(parsing: id) else { return reply([]) }
            hub.connectionInfo(key, from: ctx.loop) { reply($0?.json ?? []) }
        case .stats:
            hub.loopReports(from: ctx.loop) { [self] reports in
                let uptime = Int((ctx.loop.now &- startedAt) / 1_000_000_000)
                reply(NodeStats(reports: reports, id: node, engine: engine, uptimeSeconds: uptime, draining: ctx.draining).json)
            }
        }
    }

    /// Publishes `bytes` on `channel`; false (logged) when Redis' queue refused them.
    func publishRaw(_ bytes: [UInt8], on channel: String, what: String) -> Bool {
        guard let shard = shard(for: channel) else { return false }
        do throws(RedisError) {
            try shard.publisher.send(RedisCommand(arguments: [Array("PUBLISH".utf8), Array(channel.utf8), bytes]))
            return true
        } catch {
            logger.warning("cluster: \(what) on \(channel) dropped: \(error)")
            return false
        }
    }
}
