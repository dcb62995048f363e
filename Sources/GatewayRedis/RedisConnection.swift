public import GatewayIO
internal import GatewayBuffers

/// One connection to one Redis endpoint, on one event loop: the socket is a `TCPConnection` of that
/// loop, so it behaves the same on io_uring and epoll; hiredis only parses and formats.
///
/// Life: `start()` connects, sends `AUTH` (and `SELECT` for a database other than 0) from the URL,
/// and is `up` once Redis accepted them. Commands then go out at once, pipelined: each `send` writes
/// its command and queues its completion, and replies complete them in order. Before that, and
/// while Redis is unreachable, commands wait in a bounded queue and go out, in order, when the
/// connection is up again. When the connection fails or closes, completions of commands in flight
/// fail with `RedisError.connectionLost` and a new attempt follows after an exponential backoff with
/// jitter (`RedisBackoff`). A subscriber connection (`role: .subscriber`) subscribes instead of
/// sending commands and subscribes to everything again after each reconnect
/// (`RedisConnection+Subscriptions.swift`).
///
/// Reading is never paused: a subscriber that stopped reading would be disconnected by Redis once
/// its client-output-buffer limit filled, so every reply is handled as soon as it arrives.
///
/// Loop-confined: create it, and call it, only on `loop`'s thread.
public final class RedisConnection: ConnectionHandler {
    /// Receives the result of one command: Redis' reply (an error reply is a reply), or why there
    /// is none.
    public typealias Completion = (Result<RedisReply, RedisError>) -> Void

    /// The endpoint and credentials.
    public let url: RedisURL
    /// The loop this connection lives on (`unowned(unsafe)`: it belongs to an object of that loop,
    /// which the loop outlives, as `TCPConnection.loop` does).
    public unowned(unsafe) let loop: EventLoop
    /// Commands or subscriptions.
    public let role: RedisConnectionRole
    /// Limits and timings.
    public let configuration: Configuration
    /// Hears state changes and, on a subscriber, messages. Weak: the delegate usually owns this
    /// connection, and it is called per message, not per byte, so the weak load costs little.
    public weak var delegate: (any RedisConnectionDelegate)?
    /// Where the connection is.
    public private(set) var state: RedisConnectionState = .down
    /// Totals for metrics.
    public internal(set) var counters = RedisConnectionCounters()
    /// Why the connection last went down or failed its handshake (for logs and `/v1/cluster`); nil
    /// while up.
    public internal(set) var lastError: String?

    var tcp: TCPConnection?
    private var reader = RedisReplyReader()
    /// Completions of commands written and not answered yet, oldest first. A nil entry is a command
    /// sent without a completion: it still takes its turn.
    private var inflight = RingQueue<Completion?>()
    /// Commands accepted while not up, oldest first.
    private var waiting = RingQueue<(command: RedisCommand, completion: Completion?)>()
    /// Bytes of the commands in `waiting`.
    public private(set) var waitingBytes = 0
    /// Names of the handshake commands written on this connection, and how many were answered.
    private var handshake: [String] = []
    private var handshakeAnswered = 0
    /// Set when this side decided to drop the connection (the reason is reported at the close).
    private var dropReason: String?
    private var backoff: RedisBackoff
    private var reconnectTimer: LoopTimer?
    private var started = false
    private(set) var closed = false
    /// Set when a command connection came up and its delegate asked to hold the queue
    /// (`redisConnectionShouldHoldQueue`): commands keep queueing behind the ones that waited for
    /// the connection until `releaseQueue()`; only `sendAhead` writes meanwhile.
    public private(set) var isHoldingQueue = false
    /// Channels and patterns a subscriber wants, sent again after every reconnect.
    var channels: Set<String> = []
    var patterns: Set<String> = []

    /// A connection to `url` on `loop`; nothing happens until `start()`.
    public init(url: RedisURL, loop: EventLoop, role: RedisConnectionRole = .commands, configuration: Configuration = .init()) {
        self.url = url
        self.loop = loop
        self.role = role
        self.configuration = configuration
        backoff = RedisBackoff(initialNanos: configuration.reconnectInitialNanos, maxNanos: configuration.reconnectMaxNanos)
    }

    deinit {
        reconnectTimer?.cancel()
    }

    /// Commands waiting to be sent (accepted while not up).
    public var queuedCommands: Int { waiting.count }

    /// Commands sent and not answered yet.
    public var inflightCommands: Int { inflight.count }

    /// Starts connecting. Commands sent before are queued and go out once the connection is up.
    public func start() {
        guard !started, !closed else { return }
        started = true
        connect()
    }

    /// Sends `command`, or queues it while the connection is not up.
    ///
    /// - Parameter completion: called once on the loop with the reply, `connectionLost` if the
    ///   connection dropped with the command in flight, `closed` after `close()`, or
    ///   `handshakeFailed` if the command was waiting when `AUTH`/`SELECT` failed. Never called from
    ///   inside `send`. Nil to ignore the reply (it still keeps its place in the order).
    /// - Throws: `queueFull` when the bounded queue (`Configuration`) has no room (the command is
    ///   counted in `dropped`), `closed` after `close()`, `wrongRole` on a subscriber connection.
    ///   When `send` throws, the completion is never called.
    public func send(_ command: RedisCommand, completion: Completion? = nil) throws(RedisError) {
        guard role == .commands else { throw .wrongRole }
        guard !closed else { throw .closed }
        let size = command.encoded.count
        // A connection that is being dropped (Redis' EOF seen, close pending) is no longer writable:
        // the command waits for the next one rather than failing with connectionLost unsent.
        if state == .up, !isHoldingQueue, let tcp, tcp.isWritable {
            guard tcp.queuedBytes + size <= configuration.maxQueuedBytes else { throw refuse() }
            write(command, to: tcp)
            inflight.push(completion)
            return
        }
        guard waiting.count < configuration.maxQueuedCommands,
              waitingBytes + size <= configuration.maxQueuedBytes else { throw refuse() }
        waiting.push((command, completion))
        waitingBytes += size
    }

    /// Writes `command` now, ahead of the queue a held connection keeps (`isHoldingQueue`): for the
    /// checks the owner makes before it releases the queue. Throws `queueFull` when the connection
    /// is not up (nothing is queued for later) or its socket has no room.
    public func sendAhead(_ command: RedisCommand, completion: Completion? = nil) throws(RedisError) {
        guard role == .commands else { throw .wrongRole }
        guard !closed else { throw .closed }
        guard state == .up, let tcp, tcp.isWritable,
              tcp.queuedBytes + command.encoded.count <= configuration.maxQueuedBytes else { throw refuse() }
        write(command, to: tcp)
        inflight.push(completion)
    }

    /// Ends a hold: the queued commands go out, in order, and `send` writes at once again. Harmless
    /// when not holding. The hold also ends when the connection drops (the next one decides again).
    public func releaseQueue() {
        guard isHoldingQueue else { return }
        isHoldingQueue = false
        guard state == .up, let tcp else { return }
        flushWaiting(to: tcp)
    }

    /// Closes for good: queued commands fail with `closed`, commands in flight still get their
    /// replies if Redis answers before the socket closes (`closed` otherwise), and no reconnect
    /// follows.
    public func close() {
        guard !closed else { return }
        closed = true
        reconnectTimer?.cancel()
        failWaiting(.closed)
        if let tcp {
            tcp.close(lingerNanos: 1_000_000_000)
        }
        setState(.down)
    }

    // MARK: Connecting

    private func connect() {
        reader = RedisReplyReader()
        handshake.removeAll(keepingCapacity: true)
        handshakeAnswered = 0
        dropReason = nil
        setState(.connecting)
        do throws(IOError) {
            let c = try loop.connect(to: url.address, handler: self)
            c.deadline = loop.now &+ configuration.connectTimeoutNanos
            tcp = c
        } catch {
            // No socket at all (descriptor exhaustion): try again later like any failed attempt.
            lastError = "\(error)"
            counters.errors += 1
            setState(.down)
            scheduleReconnect()
        }
    }

    private func scheduleReconnect() {
        guard !closed else { return }
        if reconnectTimer == nil {
            reconnectTimer = loop.makeTimer { [unowned(unsafe) self] in self.reconnectTimerFired() }
        }
        reconnectTimer?.schedule(afterNanos: backoff.next())
    }

    private func reconnectTimerFired() {
        guard !closed, tcp == nil else { return }
        counters.reconnects += 1
        connect()
    }

    /// Writes `AUTH`/`SELECT` from the URL, or goes up at once when there are none.
    private func sendHandshake(_ c: TCPConnection) {
        if let password = url.password {
            let auth = url.user.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
            write(auth, to: c)
            handshake.append("AUTH")
        }
        // Database 0 is where every connection starts: no SELECT needed.
        if url.database != 0 {
            write(RedisCommand("SELECT", String(url.database)), to: c)
            handshake.append("SELECT")
        }
        if handshake.isEmpty { becomeUp(c) }
    }

    private func handshakeReply(_ reply: RedisReply, _ c: TCPConnection) {
        let name = handshake[handshakeAnswered]
        handshakeAnswered += 1
        if case .error(let message) = reply {
            let error = RedisError.handshakeFailed(command: name, message: message)
            counters.errors += 1
            failWaiting(error)
            drop(c, reason: error.description)
            return
        }
        if handshakeAnswered == handshake.count { becomeUp(c) }
    }

    private func becomeUp(_ c: TCPConnection) {
        c.deadline = 0
        backoff.reset()
        lastError = nil
        state = .up
        if role == .subscriber { resubscribe(c) }
        // A delegate may want to check something first (the cluster: that the other nodes are
        // subscribed again, so what waited is not published to nobody).
        if role == .commands, !waiting.isEmpty, delegate?.redisConnectionShouldHoldQueue(self) == true {
            isHoldingQueue = true
        } else {
            flushWaiting(to: c)
        }
        delegate?.redisConnection(self, didChangeState: .up)
    }

    private func flushWaiting(to c: TCPConnection) {
        while let w = waiting.pop() {
            write(w.command, to: c)
            inflight.push(w.completion)
        }
        waitingBytes = 0
    }

    // MARK: Writing and failing

    func write(_ command: RedisCommand, to c: TCPConnection) {
        c.write { command.write(into: &$0) }
        counters.commandsSent += 1
    }

    private func refuse() -> RedisError {
        counters.dropped += 1
        return .queueFull(commands: configuration.maxQueuedCommands, bytes: configuration.maxQueuedBytes)
    }

    private func failWaiting(_ error: RedisError) {
        // Swapped out first: a completion that sends again (a retry) queues for the next attempt
        // instead of being popped and failed here again, forever.
        var failing = waiting
        waiting = RingQueue()
        waitingBytes = 0
        while let w = failing.pop() {
            counters.failed += 1
            w.completion?(.failure(error))
        }
    }

    private func failInflight(_ error: RedisError) {
        // A completion may send again: that command is queued for the next connection, not failed here.
        var lost = inflight
        inflight = RingQueue()
        while let completion = lost.pop() {
            counters.failed += 1
            completion?(.failure(error))
        }
    }

    /// Drops the connection from this side; the rest happens in `connectionDidClose`.
    private func drop(_ c: TCPConnection, reason: String) {
        if dropReason == nil { dropReason = reason }
        c.abort()
    }

    private func setState(_ s: RedisConnectionState) {
        guard s != state else { return }
        state = s
        delegate?.redisConnection(self, didChangeState: s)
    }

    // MARK: ConnectionHandler

    /// Sends the handshake.
    public func connectionDidConnect(_ connection: TCPConnection) {
        // After close() the socket only drains and closes: no handshake, and never `up`.
        guard connection === tcp, !closed else { return }
        sendHandshake(connection)
    }

    /// Feeds the reader and handles every complete reply at once.
    public func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        guard connection === tcp else { return }
        do throws(RedisError) {
            try reader.feed(UnsafeRawBufferPointer(bytes))
            // A completion may close this connection or drop it: stop at once then.
            while connection === tcp, dropReason == nil, let reply = try reader.next() {
                counters.replies += 1
                handle(reply, connection)
            }
        } catch {
            counters.errors += 1
            drop(connection, reason: error.description)
        }
    }

    private func handle(_ reply: RedisReply, _ c: TCPConnection) {
        if handshakeAnswered < handshake.count {
            handshakeReply(reply, c)
            return
        }
        switch role {
        case .commands:
            guard let completion = inflight.pop() else {
                counters.errors += 1
                drop(c, reason: "Redis sent a reply with no command in flight")
                return
            }
            if reply.isError { counters.errors += 1 }
            completion?(.success(reply))
        case .subscriber:
            pushed(reply)
        }
    }

    /// Redis closed its side (restart, `CLIENT KILL`, timeout): nothing more will come.
    public func connectionDidReachEOF(_ connection: TCPConnection) {
        guard connection === tcp else { return }
        if dropReason == nil && !closed { dropReason = "connection closed by Redis" }
        connection.abort()
    }

    /// Nothing waits for the drain.
    public func connectionDidDrain(_ connection: TCPConnection) {}

    /// Connecting plus the handshake took longer than `connectTimeoutNanos`.
    public func connectionDidTimeOut(_ connection: TCPConnection) {
        guard connection === tcp else { return }
        drop(connection, reason: "connect to \(url) timed out")
    }

    /// The socket is gone: fail what was in flight and, unless closed, try again after the backoff.
    public func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        guard connection === tcp else { return }
        tcp = nil
        isHoldingQueue = false
        handshake.removeAll(keepingCapacity: true)
        handshakeAnswered = 0
        if !closed {
            lastError = dropReason ?? error.map { "\($0)" } ?? "connection closed"
        }
        dropReason = nil
        setState(.down)
        failInflight(closed ? .closed : .connectionLost)
        scheduleReconnect()
    }
}

@available(*, unavailable)
extension RedisConnection: Sendable {}
