internal import GatewayIO
internal import GatewayRedis
internal import Logging
#if canImport(Glibc)
internal import Glibc
#endif

/// This node's heartbeat and its view of the other nodes (DESIGN §8), through Redis.
///
/// Every beat (a third of `nodeTimeoutSeconds`) the node writes its record,
/// `SET <prefix>:node:<id> <json> PX <timeout ms>`, then `SADD <prefix>:nodes <id>`, and reads the
/// others: `SMEMBERS <prefix>:nodes`, then `MGET` of their keys and a `PTTL` of each, pipelined in
/// one round trip. A member whose key is gone has missed heartbeats for `nodeTimeoutSeconds`: the
/// node removes it with `SREM`, and the one node whose `SREM` removed it (Redis answers 1 to exactly
/// one of them) declares it lost. That is where its connections' disconnect hooks will be sent
/// from, once for the cluster (`nodeLost`).
///
/// The TTLs make detection prompt: a key that will expire before the next beat (a node that is
/// late, since a live one refreshes every third of the timeout) gets a read just after its expiry,
/// so a dead node is noticed within `nodeTimeoutSeconds` of its last heartbeat, not a beat later.
/// They also say how late a node is on Redis' clock alone (no comparison of the nodes' clocks): a
/// node whose last heartbeat is more than one and a half beats old is listed as `degraded`.
///
/// Order makes the set safe to read at any time: the record is written before the id joins the
/// set, and a graceful stop (`leave`) removes the id before it deletes the record, so a reader never
/// sees a live or departing node without its key and never declares it lost.
///
/// While the command connection is not up, no beat is queued (a record from the past is worth
/// nothing); the connection is checked every 100 ms and the beat goes out as soon as it is back.
///
/// Loop-confined to loop 0, with the Redis connections (it shares the command connection).
final class ClusterHeartbeat {
    let node: String
    let settings: ClusterSettings
    let address: String
    /// When this node started, Unix milliseconds.
    let startedMs: Int
    private let commands: RedisConnection
    private unowned let hub: GatewayHub
    private unowned(unsafe) let loop: EventLoop
    private let logger: Logger
    private var beatTimer: LoopTimer?
    private var checkTimer: LoopTimer?
    private var leaveTimer: LoopTimer?
    private var leaveDone: (() -> Void)?
    private var stopped = false
    private var reading = false
    private var readAgain = false
    private var beats = 0
    private var loggedUndecodable: Set<String> = []
    private var commandErrors = 0

    /// The other nodes and the rules of a read (NodeView.swift).
    private(set) var view: NodeView
    /// The other nodes, by id, as of the last complete read.
    var peers: [String: NodeView.Peer] { view.peers }
    /// `heartbeatMs` of this node's last record Redis accepted; nil before the first.
    private(set) var lastHeartbeatMs: Int?
    /// Loop time of the last complete read (0 before the first).
    private(set) var lastReadAt: UInt64 = 0
    /// Nodes this node declared lost (won the `SREM` for).
    private(set) var declaredLost = 0

    /// The time between beats: a third of the timeout, so a node survives two lost beats.
    var periodNanos: UInt64 { UInt64(settings.nodeTimeoutSeconds) * 1_000_000_000 / 3 }
    var timeoutMs: Int { settings.nodeTimeoutSeconds * 1000 }
    /// This node's key.
    var key: String { Self.key(prefix: settings.prefix, node: node) }
    /// The set of node ids.
    var setKey: String { "\(settings.prefix):nodes" }

    /// Whether the view is older than two beats (Redis unreachable, or not answering): the peers'
    /// ages are unknown then, and `/v1/cluster` lists them as `degraded`.
    var viewIsStale: Bool { lastReadAt == 0 || loop.now &- lastReadAt > 2 * periodNanos }

    /// The Redis key of `node`'s record.
    static func key(prefix: String, node: String) -> String { "\(prefix):node:\(node)" }

    /// How long `leave` waits for Redis to confirm before it lets the shutdown go on: a second. A
    /// reachable Redis answers in well under a millisecond; one that does not answer in a second is
    /// likely down, and then the others notice the node's key expiring instead.
    static let leaveTimeoutNanos: UInt64 = 1_000_000_000

    /// Retry step while the command connection is not up.
    static let downRetryNanos: UInt64 = 100_000_000

    init(node: String, settings: ClusterSettings, address: String, commands: RedisConnection, hub: GatewayHub,
         loop: EventLoop, logger: Logger) {
        view = NodeView(timeoutMs: settings.nodeTimeoutSeconds * 1000,
                        periodMs: settings.nodeTimeoutSeconds * 1000 / 3)
        self.node = node
        self.settings = settings
        self.address = address
        self.commands = commands
        self.hub = hub
        self.loop = loop
        self.logger = logger
        startedMs = WallClock.ms()
    }

    deinit {
        beatTimer?.cancel()
        checkTimer?.cancel()
        leaveTimer?.cancel()
    }

    /// Starts beating (the first beat goes out as soon as the command connection is up).
    func start() {
        guard beatTimer == nil, !stopped else { return }
        beatTimer = loop.makeTimer { [unowned(unsafe) self] in self.tick() }
        checkTimer = loop.makeTimer { [unowned(unsafe) self] in self.readNodes() }
        beatTimer?.schedule(afterNanos: 1)
    }

    /// The command connection came up: beat at once rather than at the next retry, so that after
    /// Redis lost its data (a restart without persistence) this node is listed again as it writes
    /// its sessions again (`ClusterPresence.connectionUp`, in the same few microseconds): a node
    /// that dies after that is in the set, and so is declared lost and has its hooks sent.
    func connectionUp() {
        guard let beatTimer, !stopped else { return }
        beatTimer.cancel()
        tick()
    }

    /// Stops beating without telling Redis (the record then expires on its own).
    func stop() {
        stopped = true
        beatTimer?.cancel()
        checkTimer?.cancel()
        finishLeave()
    }

    /// Leaves the cluster at once (graceful stop, DESIGN §8): stops beating, removes this node from
    /// the set, then deletes its record, so the others forget it at their next read instead of after
    /// `nodeTimeoutSeconds`. `done` runs on the loop once Redis confirmed, or after
    /// `leaveTimeoutNanos` if it did not (Redis down: the record expires instead).
    func leave(_ done: @escaping () -> Void) {
        guard !stopped else { return done() }
        stopped = true
        beatTimer?.cancel()
        checkTimer?.cancel()
        leaveDone = done
        leaveTimer = loop.makeTimer { [unowned(unsafe) self] in
            self.logger.warning("cluster: Redis did not confirm that node \(self.node) left; its record expires in \(self.settings.nodeTimeoutSeconds) s")
            self.finishLeave()
        }
        leaveTimer?.schedule(afterNanos: Self.leaveTimeoutNanos)
        // SREM first: once the id is out of the set no reader looks for the key, so deleting it
        // cannot make anyone declare this node lost.
        guard send(RedisCommand("SREM", setKey, node)) else { return finishLeave() }
        let sent = send(RedisCommand("DEL", key)) { [weak self] result in
            guard let self else { return }
            if case .success(let reply) = result, !reply.isError {
                self.logger.notice("cluster: node \(self.node) left the cluster")
            }
            self.finishLeave()
        }
        if !sent { finishLeave() }
    }

    private func finishLeave() {
        leaveTimer?.cancel()
        let done = leaveDone
        leaveDone = nil
        done?()
    }

    // MARK: Beating

    private func tick() {
        guard !stopped else { return }
        guard commands.state == .up else {
            beatTimer?.schedule(afterNanos: min(periodNanos, Self.downRetryNanos))
            return
        }
        beatTimer?.schedule(afterNanos: periodNanos)
        hub.gather(from: loop, { ctx in ctx.sessions.count }) { [weak self] counts in
            self?.beat(connections: counts.reduce(0, +))
        }
    }

    private func beat(connections: Int) {
        guard !stopped else { return }
        let now = WallClock.ms()
        let record = NodeRecord(id: node, address: address, connections: connections, startedMs: startedMs, heartbeatMs: now)
        let set = RedisCommand(arguments: [Array("SET".utf8), Array(key.utf8), record.encoded(), Array("PX".utf8),
                                           Array(String(timeoutMs).utf8)])
        send(set) { [weak self] result in
            guard let self else { return }
            if case .success(.status) = result { self.lastHeartbeatMs = now } else { self.failed("SET", result) }
        }
        beats += 1
        let first = beats == 1
        send(RedisCommand("SADD", setKey, node)) { [weak self] result in
            guard let self, !self.stopped else { return }
            // 1 = the id was not in the set: expected at the first beat; later, Redis lost its data
            // (a restart without persistence) or the others declared this node lost.
            switch result {
            case .success(.integer(let added)):
                if added == 1 && !first {
                    self.logger.warning("cluster: node \(self.node) was missing from \(self.setKey) (Redis restarted, or the others declared it lost after missed heartbeats); listed again")
                }
            default:
                self.failed("SADD", result)
            }
        }
        readNodes()
    }

    // MARK: Reading the node list

    /// One read's replies, filled in order by the completions of its pipelined commands.
    private final class Read {
        let ids: [String]
        var values: [RedisReply] = []
        var ttls: [Int64] = []
        var failed = false
        init(ids: [String]) { self.ids = ids }
    }

    /// Reads the node list (coalesced: a read asked for while one runs follows it).
    private func readNodes() {
        guard !stopped else { return }
        guard !reading else {
            readAgain = true
            return
        }
        reading = true
        let sent = send(RedisCommand("SMEMBERS", setKey)) { [weak self] result in
            self?.membersRead(result)
        }
        if !sent { reading = false }
    }

    private func membersRead(_ result: Result<RedisReply, RedisError>) {
        guard !stopped, case .success(.array(let members?)) = result else {
            if !stopped { failed("SMEMBERS", result) }
            return readDone()
        }
        // Ids that could not be ours (not a valid node name) are someone else's business: left alone.
        let ids = members.compactMap(\.string).filter { $0 != node && ClusterSettings.isValidName($0) }.sorted()
        let read = Read(ids: ids)
        guard !ids.isEmpty else { return apply(read) }
        let keys = ids.map { Self.key(prefix: settings.prefix, node: $0) }
        var ok = send(RedisCommand(["MGET"] + keys)) { result in
            if case .success(.array(let values?)) = result, values.count == ids.count { read.values = values } else { read.failed = true }
        }
        for (i, k) in keys.enumerated() where ok {
            ok = send(RedisCommand("PTTL", k)) { [weak self] result in
                if case .success(.integer(let ttl)) = result { read.ttls.append(ttl) } else { read.failed = true }
                // Replies come in order: the last PTTL's completes the read.
                if i == keys.count - 1 { self?.apply(read) }
            }
        }
        if !ok { readDone() }
    }

    /// Turns a complete read into the new view and acts on what changed.
    private func apply(_ read: Read) {
        defer { readDone() }
        guard !stopped, !read.failed, read.values.count == read.ids.count, read.ttls.count == read.ids.count else { return }
        let records = read.values.map { value -> [UInt8]? in
            if case .bulk(let bytes?) = value { bytes } else { nil }
        }
        let change = view.apply(NodeView.Read(ids: read.ids, records: records, ttls: read.ttls))
        for id in change.undecodable where loggedUndecodable.insert(id).inserted {
            logger.warning("cluster: ignoring node \(id): its record does not decode (another release?)")
        }
        for id in change.joined { logger.notice("cluster: node \(id) joined (\(peers[id]?.record.address ?? ""))") }
        for id in change.departed { logger.notice("cluster: node \(id) is no longer listed") }
        lastReadAt = loop.now
        for id in change.expired { remove(expired: id) }
        if let ms = change.recheckAfterMs { checkTimer?.schedule(afterNanos: UInt64(ms) * 1_000_000) }
    }

    private func readDone() {
        reading = false
        if readAgain {
            readAgain = false
            readNodes()
        }
    }

    /// `id` is in the set but its record expired: take it out; whoever takes it out declares it lost.
    private func remove(expired id: String) {
        send(RedisCommand("SREM", setKey, id)) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(.integer(1)): self.nodeLost(id)
            case .success(.integer): self.logger.notice("cluster: node \(id) is no longer listed (declared lost by another node)")
            default: self.failed("SREM", result)
            }
        }
    }

    /// Node `id` missed its heartbeats for `nodeTimeoutSeconds`, and this node is the one that took it
    /// out of the set: for the whole cluster, this runs once per lost node.
    /// Told of each node this node declared lost (once for the cluster): `ClusterPresence` sends
    /// its sessions' disconnect hooks.
    var onNodeLost: ((String) -> Void)?

    private func nodeLost(_ id: String) {
        onNodeLost?(id)
        declaredLost += 1
        logger.warning("cluster: node \(id) lost (no heartbeat for \(settings.nodeTimeoutSeconds) s)")
        // Only the node whose SREM removed `id` gets here, so no other node sends its hooks too.
    }

    // MARK: Helpers

    /// Sends `command` on the command connection; false (and logged) if it was refused.
    @discardableResult
    private func send(_ command: RedisCommand, _ completion: RedisConnection.Completion? = nil) -> Bool {
        do throws(RedisError) {
            try commands.send(command, completion: completion)
            return true
        } catch {
            commandErrors += 1
            if commandErrors == 1 || commandErrors % 100 == 0 {
                logger.warning("cluster: heartbeat \(command) not sent (\(commandErrors) so far): \(error)")
            }
            return false
        }
    }

    /// Logs a failed heartbeat command (rate-limited: Redis being down fails every one).
    private func failed(_ name: String, _ result: Result<RedisReply, RedisError>) {
        commandErrors += 1
        guard commandErrors == 1 || commandErrors % 100 == 0 else { return }
        switch result {
        case .success(let reply): logger.warning("cluster: heartbeat \(name) answered \(reply) (\(commandErrors) errors so far)")
        case .failure(let error): logger.warning("cluster: heartbeat \(name) failed (\(commandErrors) errors so far): \(error)")
        }
    }
}

@available(*, unavailable)
extension ClusterHeartbeat: Sendable {}
