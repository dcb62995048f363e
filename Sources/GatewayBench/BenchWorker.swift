internal import Synchronization
internal import GatewayIO
internal import GatewayWebSocket

/// The state of one event loop in a run: its share of the connections (preallocated `BenchClient`s),
/// its counters and histograms, a random generator for masks and keys, a scratch buffer for
/// rendering messages, and the pacing of new connections.
///
/// A worker is created on the main thread, then used only on its loop's thread (from `attach` on)
/// until the loop has stopped and been joined; only then does the main thread read its results.
final class BenchWorker: @unchecked Sendable {
    // @unchecked: confined to the loop thread between `attach` and the loop's join (see above);
    // cross-thread progress goes through `control`'s atomics and `EventLoop.execute`.

    /// A load worker owns connections; the publisher worker (fanout) owns the publisher only.
    enum Role {
        case load
        case publisher
    }

    let role: Role
    let config: BenchConfig
    let control: RunControl
    let publishLog: PublishLog?
    let upgrade: UpgradeRequest
    let publisherUpgrade: UpgradeRequest
    private(set) var loop: EventLoop!
    private(set) var clients: [BenchClient] = []

    var stats = WorkerStats()
    /// rtt: reply latency; fanout: delivery latency; handshakes: handshake latency.
    let latency = LatencyHistogram()
    /// Connect start → verified 101, for every connection.
    let connectLatency = LatencyHistogram()
    var random: FastRandom
    /// `--deflate`: inflates every compressed frame on this loop (no context takeover is negotiated,
    /// so one stream serves every connection, as the gateway's own per-loop decompressor).
    let decompressor: PerMessageDeflateDecompressor?
    /// Where messages are rendered before they are framed; `Template.maxLength` bytes.
    let scratch: UnsafeMutableRawPointer
    private let scratchCapacity: Int

    /// fanout: per publish, measured deliveries and the latest delivery latency seen on this loop.
    let publishGot: UnsafeMutablePointer<UInt32>
    let publishLastDelivery: UnsafeMutablePointer<UInt64>

    // Connection pacing.
    var handshakesInFlight = 0
    private var opened = 0
    private var startedAt: UInt64 = 0
    private var filling = false
    private let ratePerLoop: Double
    private let maxInFlight: Int
    private var tickTimer: LoopTimer?
    private var openSockets = 0
    private var trafficStarted = false
    private var closeStarted = false

    // Open loop (rtt --rate; see BenchWorker+OpenLoop).
    /// rtt open loop: due time → actual send of measured sends that were not held back.
    let sendLag = LatencyHistogram()
    var openLoopCursor: OpenLoopCursor?
    var pacer: PacingTimer?
    /// This loop added its expected and received counts to `control` (the drain began).
    var openLoopReported = false

    // Publisher (role .publisher).
    var publishTimer: LoopTimer?
    var nextPublish: UInt64 = 0
    var httpPublisher: HTTPPublisher?

    /// Creates a worker for connections `first ..< first + count`.
    init(index: Int, role: Role, first: Int, count: Int, config: BenchConfig, control: RunControl, publishLog: PublishLog?) {
        self.role = role
        self.config = config
        self.control = control
        self.publishLog = publishLog
        upgrade = config.upgrade
        if case .webSocket(let url, _)? = config.publisher {
            publisherUpgrade = UpgradeRequest(url: url, headers: config.headers)
        } else {
            publisherUpgrade = upgrade
        }
        random = FastRandom(stream: index)
        decompressor = config.deflate ? PerMessageDeflateDecompressor() : nil
        var need = config.message.maxLength
        switch config.publisher {
        case .webSocket(_, let t)?: need = max(need, t.maxLength)
        case .http(_, let t, _)?: need = max(need, t.maxLength)
        case nil: break
        }
        scratchCapacity = need + 64
        scratch = .allocate(byteCount: scratchCapacity, alignment: 16)
        let logCapacity = publishLog?.capacity ?? 0
        publishGot = .allocate(capacity: max(1, logCapacity))
        publishGot.initialize(repeating: 0, count: max(1, logCapacity))
        publishLastDelivery = .allocate(capacity: max(1, logCapacity))
        publishLastDelivery.initialize(repeating: 0, count: max(1, logCapacity))
        ratePerLoop = config.connectRate > 0 ? config.connectRate / Double(config.threads) : 0
        maxInFlight = config.connectRate > 0 ? Int.max : 256
        // A reader keeps a buffer between reads only when it is worth it: few connections, many messages.
        let retained = config.mode == .rtt ? 4096 : 0
        switch role {
        case .load:
            clients.reserveCapacity(count)
            for i in 0..<count {
                clients.append(BenchClient(
                    worker: self, index: first + i, isPublisher: false, pipeline: config.pipeline,
                    maxMessageBytes: config.maxMessageBytes, retainedCapacity: retained))
            }
        case .publisher:
            if case .webSocket? = config.publisher {
                clients.append(BenchClient(
                    worker: self, index: -1, isPublisher: true, pipeline: 1,
                    maxMessageBytes: config.maxMessageBytes, retainedCapacity: 4096))
            }
        }
    }

    deinit {
        scratch.deallocate()
        publishGot.deallocate()
        publishLastDelivery.deallocate()
    }

    // MARK: Loop thread

    /// Starts the worker on its loop (called from the loop's set-up, on its thread).
    func attach(_ loop: EventLoop) {
        self.loop = loop
        startedAt = MonotonicClock.now()
        let timer = loop.makeTimer { [unowned self] in self.tick() }
        tickTimer = timer
        switch role {
        case .load:
            fillConnections(now: startedAt)
        case .publisher:
            startPublisher(now: startedAt)
        }
        timer.schedule(afterNanos: 1_000_000)
    }

    /// Periodic work: pacing new connections, pings, restarting idle handshake slots.
    private func tick() {
        let now = MonotonicClock.now()
        let phase = control.phase
        if phase < .drain || (config.mode != .handshakes && phase < .close) {
            fillConnections(now: now)
        }
        if config.pingIntervalNanos > 0 && phase < .close {
            for client in clients where client.isOpen && client.nextPing != 0 && now >= client.nextPing {
                if let c = client.connection { client.sendPing(c) }
                client.nextPing = now &+ config.pingIntervalNanos
            }
        }
        let busy = opened < clients.count || config.mode == .handshakes
        tickTimer?.schedule(afterNanos: busy ? 1_000_000 : 10_000_000)
    }

    /// Opens connections up to what the rate and the in-flight limit allow. In the handshakes
    /// scenario, also restarts slots left idle by a failure.
    func fillConnections(now: UInt64) {
        guard role == .load, !filling else { return }
        filling = true
        defer { filling = false }
        var allowed = clients.count
        if ratePerLoop > 0 {
            let elapsed = Double(now &- startedAt) / 1e9
            allowed = min(allowed, Int(elapsed * ratePerLoop) + 1)
        }
        while opened < allowed && handshakesInFlight < maxInFlight {
            clients[opened].start(now: now, to: config.url)
            opened += 1
        }
        if config.mode == .handshakes && opened == clients.count && control.phase < .drain {
            for client in clients where client.state == .finished && handshakesInFlight < maxInFlight {
                client.start(now: now, to: config.url)
            }
        }
    }

    /// The phase changed (sent by the main thread with `EventLoop.execute`). The phase may have moved
    /// on again by the time this runs (a 0 s warm-up), so each step runs once when first passed.
    func phaseDidChange() {
        let now = MonotonicClock.now()
        let phase = control.phase
        if phase >= .warmup && !trafficStarted {
            trafficStarted = true
            if config.mode == .rtt && phase < .drain, let openLoop = config.openLoop {
                startOpenLoop(openLoop)
            } else if config.mode == .rtt && phase < .drain {
                for client in clients where client.isOpen {
                    if let c = client.connection { startSending(client, c) }
                }
            }
            if role == .publisher { startPublishing(now: now) }
        }
        if phase >= .drain && config.openLoop != nil && !openLoopReported { reportOpenLoop() }
        if phase >= .close && !closeStarted {
            closeStarted = true
            pacer?.close()
            pacer = nil
            publishTimer?.cancel()
            httpPublisher?.close()
            for client in clients {
                if config.mode == .handshakes && client.isConnecting { continue }  // finishes its cycle
                client.beginClose(now: now)
            }
        }
    }

    // MARK: Client callbacks

    func socketOpened() {
        openSockets += 1
        control.openSockets.add(1, ordering: .relaxed)
    }

    func socketClosed() {
        openSockets -= 1
        control.openSockets.subtract(1, ordering: .relaxed)
    }

    /// Counts an error.
    func count(_ failure: BenchClient.Failure, detail: String) {
        switch failure {
        case .connect: stats.errConnect += 1
        case .handshake: stats.errHandshake += 1
        case .timeout: stats.errTimeout += 1
        case .protocolError: stats.errProtocol += 1
        case .eof: stats.errEOF += 1
        case .io: stats.errIO += 1
        }
        if stats.firstError == nil { stats.firstError = detail }
    }

    /// A handshake succeeded.
    func clientDidOpen(_ client: BenchClient, _ connection: TCPConnection, now: UInt64, handshakeNanos: UInt64) {
        if client.isPublisher { return }
        let phase = control.phase
        switch config.mode {
        case .rtt:
            if config.openLoop == nil && (phase == .warmup || phase == .measure) { startSending(client, connection) }
        case .handshakes:
            stats.handshakes += 1
            if phase == .measure {
                stats.handshakesMeasured += 1
                latency.record(handshakeNanos)
            }
            client.beginClose(now: now)
        case .fanout, .hold:
            break
        }
        if ratePerLoop == 0 { fillConnections(now: now) }
    }

    /// A connection is gone (closed or failed to open).
    func clientDidFinish(_ client: BenchClient) {
        if client.isPublisher {
            publishTimer?.cancel()
            return
        }
        let now = MonotonicClock.now()
        if config.mode == .handshakes && control.phase < .drain && !filling && opened == clients.count {
            if !client.failed { client.start(now: now, to: config.url) }  // failed slots restart on the tick
            return
        }
        if ratePerLoop == 0 && opened < clients.count { fillConnections(now: now) }
    }

    /// A data message arrived on a load connection.
    @inline(__always)
    func messageReceived(_ client: BenchClient, _ connection: TCPConnection, _ payload: UnsafeRawBufferPointer, now: UInt64) {
        switch config.mode {
        case .rtt:
            if config.openLoop != nil { openLoopReply(client, connection, now: now) } else { rttReply(client, connection, now: now) }
        case .fanout: scanMarkers(payload, now: now)
        case .hold, .handshakes: break
        }
    }
}
