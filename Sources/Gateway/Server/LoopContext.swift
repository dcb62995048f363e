internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import Logging

/// Per-loop state of the gateway: the config in force, the backend client, hook delivery, the
/// session index, the open client connections, and buffers reused for encoding replies. Lives on
/// (and is only touched from) its loop's thread.
final class LoopContext: AcceptHandler {
    unowned(unsafe) let loop: EventLoop
    /// The config in force; replaced as a whole on reload (SIGHUP).
    private(set) var runtime: RuntimeConfig {
        didSet {
            limits = runtime.limits
            runtimeGeneration = runtime.generation
        }
    }
    /// `runtime.limits` and `runtime.generation`, copied here: every message reads them, and going
    /// through `runtime` retains and releases it each time (callgrind: two pairs per echoed message).
    private(set) var limits: Limits
    /// See `limits`.
    private(set) var runtimeGeneration: Int
    /// Backend calls made from this loop.
    let backend: BackendClient
    /// Lifecycle hooks (disconnect) with retries.
    let hooks: HookDispatcher
    /// Active health checks of the upstreams' endpoints: loop 0 runs them for the whole gateway.
    var healthChecker: UpstreamHealthChecker?
    let logger: Logger
    /// This loop's share of the session index.
    let sessions = SessionShard()
    /// All loops of the process, for deliveries that cross loops.
    let hub: GatewayHub
    /// This loop's counters.
    var metrics: GatewayMetrics
    /// Kernel random bytes for connection ids made on this loop.
    var randomPool = RandomPool()
    /// Trace and span ids for backend calls made on this loop.
    var traceRNG = TraceIDGenerator()
    /// Reused for encoding reply payloads before they are framed into a connection's queue.
    var scratch = ByteBuffer(capacity: 4096)
    /// permessage-deflate shared by this loop's connections (no zlib memory until used).
    let deflate = LoopDeflate()
    /// Buffers and keyed HMAC contexts for the tokens checked at connect (`auth.jwt`).
    let jwt = JWTScratch()
    /// Buffers for replies that finish before an earlier message's and wait in a `ReplyQueue`; reused
    /// so that out-of-order completions allocate nothing in the steady state.
    private var replyBuffers = BufferPool(maxCount: 256, maxCapacity: 16 * 1024)
    var listenerID: Int?
    /// The admin API (loop 0 only).
    var admin: AdminServer?
    private(set) var draining = false
    /// Open client connections on this loop, whatever protocol they speak now.
    private(set) var clients = SwapRemoveList<any ClientHandler>()

    /// Creates the loop's state. Throws when the backend client cannot start (libcurl).
    init(loop: EventLoop, runtime: RuntimeConfig, hub: GatewayHub, logger: Logger) throws(BackendError) {
        self.backend = try BackendClient(
            loop: loop, maxConnectionsPerHost: runtime.limits.maxBackendConnectionsPerHost,
            nativeClient: runtime.config.io.backendClient == .auto, pipelineDepth: runtime.limits.backendPipelineDepth,
            tls: runtime.config.io.backendTLS, dns: runtime.config.io.dns)
        self.loop = loop
        self.hub = hub
        self.metrics = GatewayMetrics(routes: runtime.routeLabels.count)
        self.runtime = runtime
        self.limits = runtime.limits
        self.runtimeGeneration = runtime.generation
        self.logger = logger
        self.hooks = HookDispatcher(loop: loop, backend: backend, logger: logger)
        backend.onUpstreamEvent = { [logger] event in Self.log(event, logger) }
        useUpstreams(runtime)
        // In a cluster, rooms and users with members here are what this node subscribes to.
        if let cluster = hub.cluster {
            sessions.onIndexChange = { cluster.interest($0) }
            sessions.onSessionChange = { [unowned(unsafe) self] h, ended in
                guard !ended else { return cluster.sessionChanged(h.key.string, nil) }
                guard let record = presenceRecord(h) else { return }
                cluster.sessionChanged(h.key.string, record)
            }
        }
    }

    /// What the cluster keeps of session `h` in Redis; nil once its connection is gone.
    func presenceRecord(_ h: SessionShard.Handle) -> PresenceRecord? {
        guard let c = h.connection else { return nil }
        // When it opened, on the wall clock: other nodes measure its duration if this one dies.
        let openedMs = Int64(WallClock.ms()) - Int64((loop.now &- c.openedAt) / 1_000_000)
        return PresenceRecord(module: c.module.config.path, user: h.user, rooms: h.rooms, openedMs: openedMs)
    }

    /// An empty buffer for a waiting reply (from the pool when one is free).
    func takeReplyBuffer(capacity: Int) -> ByteBuffer {
        var b = replyBuffers.take()
        b.reserveWritableCapacity(capacity)
        return b
    }

    /// Returns a waiting reply's buffer once it is written. The caller's variable is left empty, so
    /// the pooled storage stays uniquely referenced (reusing it then copies nothing).
    func recycleReplyBuffer(_ buffer: inout ByteBuffer) {
        var taken = ByteBuffer()
        swap(&taken, &buffer)
        replyBuffers.give(taken)
    }

    // MARK: Accepting

    func accepted(_ connection: TCPConnection) {
        if draining {
            connection.abort()
            return
        }
        metrics.connectionsAccepted += 1
        let ip = Self.admissionIP(connection)
        if let refusal = hub.admission.admit(ip: ip, limits: limits) {
            metrics.connectionsRefused += 1
            // Say why, then close: `Connection: close` and no keep-alive.
            connection.write { b in
                b.write(string: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: ")
                let body = "{\"error\":\"\(refusal)\"}"
                b.write(decimal: body.utf8.count)
                b.write(string: "\r\n\r\n")
                b.write(string: body)
            }
            connection.close(lingerNanos: 1_000_000_000)
            return
        }
        let identity = ClientIdentity(key: ConnectionKey(loop: loop.index, pool: &randomPool), acceptedAt: loop.now)
        let c = HTTPConnection(context: self, tcp: connection, identity: identity)
        c.registryIndex = clients.append(c)
        connection.handler = c
    }

    /// `new` takes over `old`'s socket (the WebSocket upgrade) and its place in the registry.
    func handOver(_ old: any ClientHandler, to new: any ClientHandler) {
        new.registryIndex = old.registryIndex
        if !clients.replace(at: old.registryIndex, if: { $0 === old }, with: new) { new.registryIndex = clients.append(new) }
        old.registryIndex = -1
        new.tcp.handler = new
    }

    /// A client connection's socket closed: forget it and release its admission.
    func closed(_ c: any ClientHandler) {
        if clients.remove(at: c.registryIndex, if: { $0 === c }, reindex: { $0.registryIndex = $1 }) {
            c.registryIndex = -1
            hub.admission.release(ip: Self.admissionIP(c.tcp))
        }
    }

    /// The address admission control counts a connection under: made again from the peer address
    /// when the socket closes rather than kept in every connection (16 bytes each, issue 13).
    static func admissionIP(_ connection: TCPConnection) -> String {
        connection.remoteAddress?.hostString ?? ""
    }

    /// Puts a reloaded config in force on this loop. Open connections stay; their next message uses
    /// the new routes of their module (a removed module keeps serving its connections with its old
    /// definition). Per-route backend counters restart, since the set of routes may have changed.
    func apply(_ new: RuntimeConfig) {
        runtime = new
        useUpstreams(new)
        metrics.resetRoutes(count: new.routeLabels.count)
        if let admin, let token = new.config.admin?.token { admin.token = Array(token.utf8) }
    }

    /// Puts `runtime`'s upstream groups in force on this loop; loop 0 (re)starts the health checks.
    private func useUpstreams(_ runtime: RuntimeConfig) {
        backend.setUpstreams(runtime.upstreamGroups)
        guard loop.index == 0, !draining else { return }
        healthChecker?.stop()
        let checker = UpstreamHealthChecker(client: backend, groups: runtime.upstreamGroups)
        checker.onEvent = { [logger] event in Self.log(event, logger) }
        healthChecker = checker.isEmpty ? nil : checker
        healthChecker?.start()
    }

    /// One line per state change of an upstream endpoint: taking one out is a warning, bringing it
    /// back a notice.
    static func log(_ event: UpstreamEvent, _ logger: Logger) {
        switch event {
        case .breaker(_, _, _, .open, _), .ejected, .health(_, _, false, _): logger.warning("\(event)")
        default: logger.notice("\(event)")
        }
    }

    /// A snapshot of this loop for stats and metrics.
    func snapshot() -> LoopSnapshot {
        var queued = 0
        for c in clients.elements { queued += c.tcp.queuedBytes }
        var m = metrics
        m.hooksDelivered = hooks.delivered
        m.hookFailures = hooks.failedAttempts
        m.hooksDropped = hooks.dropped
        return LoopSnapshot(
            index: loop.index, metrics: m, openConnections: clients.count, websockets: sessions.count,
            rooms: sessions.rooms.count, users: sessions.users.count, backendInFlight: backend.inFlight,
            hooksPending: hooks.pendingCount, bytesReceived: loop.bytesReceived, bytesSent: loop.bytesSent, queuedBytes: queued,
            tlsHandshakes: loop.tlsHandshakes, tlsResumed: loop.tlsResumedHandshakes, tlsFailed: loop.tlsHandshakeFailures,
            backendClient: backend.counters,
            upstreams: backend.upstreamSnapshots())
    }

    /// Fan-out that does not come from a WebSocket (a `POST <module path>` command): every recipient
    /// gets the push form.
    func deliverPush(command: String, body: UnsafeRawBufferPointer, bodyIsJSON: Bool, deliver: Route.Deliver) {
        let target: DeliveryTarget?
        switch deliver {
        case .sender, .none, .senderRooms: target = nil
        case .all, .others: target = .all
        case .room(let name): target = .room(name)
        case .user(let u): target = .user(u)
        case .connections(let ids): target = .connections(ids.compactMap { ConnectionKey(parsing: $0) })
        }
        guard let target else { return }
        hub.push(target, except: [], command: command, data: body, dataIsJSON: bodyIsJSON, binary: false, from: self)
    }

    /// Graceful shutdown of this loop: stop accepting, let each connection finish what it started and
    /// close (WebSockets with 1001), wait for backend calls and disconnect hooks, bounded by
    /// `drainTimeoutSeconds`. Calls `done` on this loop when finished.
    func drain(done: @escaping () -> Void) {
        guard !draining else { return }
        draining = true
        healthChecker?.stop()
        if let id = listenerID { loop.removeListener(id) }
        for c in clients.elements { c.beginDrain() }
        let deadline = loop.now &+ UInt64(limits.drainTimeoutSeconds) * 1_000_000_000
        var forced = false
        var timer: LoopTimer?
        timer = loop.makeTimer { [unowned self] in
            let idle = self.clients.isEmpty && self.backend.inFlight == 0 && self.hooks.isIdle
            if idle || self.loop.now >= deadline {
                if !idle && !forced {
                    forced = true
                    self.logger.warning("drain timeout: closing \(self.clients.count) connection(s), abandoning \(self.backend.inFlight) backend call(s) and \(self.hooks.pendingCount) hook(s)")
                    for c in self.clients.elements { c.forceClose() }
                    self.backend.close()
                    // One more tick for the closes to finish.
                    timer?.schedule(afterNanos: 50_000_000)
                    return
                }
                timer = nil
                done()
            } else {
                timer?.schedule(afterNanos: 20_000_000)
            }
        }
        timer?.schedule(afterNanos: 1_000_000)
    }
}
