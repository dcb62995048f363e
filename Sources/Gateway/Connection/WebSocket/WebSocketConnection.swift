internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

/// A client connection after its WebSocket handshake: it took the socket over from the HTTP handler
/// (`LoopContext.handOver`, as uSockets adopts a socket into another context) and is a thin driver.
/// The frame reader parses, `WebSocketConnectionMachine` decides (pings, timeouts, closing,
/// backpressure, drain), and this class carries the decisions out on its `TCPConnection`, runs
/// messages through the router, and writes replies in order.
///
/// Seams: a byte transform (TLS) sits below, between `TCPConnection` and this handler's
/// `connectionDidReceive`/`tcp.write`. permessage-deflate sits in the reader (inflating whole
/// messages) and where data frames are written (`writeFrame`, `writeFramed`, `push`; see
/// `WebSocketConnection+Deflate.swift`), always at the moment bytes enter the send queue, so a
/// compressor that keeps a window sees messages in the order the client receives them.
final class WebSocketConnection: SessionShard.Handle, ClientHandler, BackendCallHandler {
    /// `unowned(unsafe)`: the loop's context outlives its connections (it is dropped only after the
    /// loop stopped), and this reference is used several times per message.
    unowned(unsafe) let context: LoopContext
    let tcp: TCPConnection
    /// Loop time of the accept (the key is the handle's: not kept twice).
    private let acceptedAt: UInt64
    /// Who the connection is.
    var identity: ClientIdentity { ClientIdentity(key: key, acceptedAt: acceptedAt) }
    /// Position in `LoopContext.clients`.
    var registryIndex: Int {
        get { Int(registry) }
        set { registry = Int32(truncatingIfNeeded: newValue) }
    }
    // The narrow fields sit together, so that they share one word (stored properties are laid
    // out in declaration order).
    private var registry: Int32 = -1
    /// Generation of the config `module` was taken from, truncated to 32 bits: it is only compared
    /// for a change, and 2^32 reloads do not happen.
    private var runtimeGeneration: UInt32
    /// The socket closed (`connectionDidClose`): answers that arrive now have nobody to go to.
    private(set) var socketClosed = false
    /// The module definition in use; refreshed after a reload (see `runtimeGeneration`).
    private(set) var module: ModuleRuntime
    /// Pings, timeouts, the closing handshake, backpressure and drain.
    var machine: WebSocketConnectionMachine
    private var reader: WebSocketFrameReader
    /// Replies in the order of the messages.
    var replies = ReplyQueue()
    /// Bytes received while reading is paused; parsed on resume.
    private var held = ByteBuffer()
    /// The session's entry in the loop's index (this connection itself); nil before the session
    /// started and once it ended.
    var handle: SessionShard.Handle? { isIndexed ? self : nil }
    /// Loop time of the 101.
    let openedAt: UInt64
    /// Rarely used state (trace id, forwarded headers, token expiry, rate limit); nil until needed.
    private(set) var extras: WebSocketExtras?
    /// permessage-deflate as negotiated at the handshake; nil when not in use.
    var deflate: ConnectionDeflate?

    /// A session that starts now on `tcp`, which the HTTP handler hands over.
    init(context: LoopContext, tcp: TCPConnection, identity: ClientIdentity, module: ModuleRuntime,
         traceID: String?, forwardable: [ForwardableHeader], deflate: PerMessageDeflateParameters? = nil) {
        self.context = context
        self.tcp = tcp
        self.acceptedAt = identity.acceptedAt
        self.module = module
        self.runtimeGeneration = UInt32(truncatingIfNeeded: context.runtimeGeneration)
        let now = context.loop.now
        self.machine = WebSocketConnectionMachine(policy: .init(context.limits), now: now)
        let negotiated = deflate.map { ConnectionDeflate.make($0, loop: context.deflate) }
        self.deflate = negotiated
        self.reader = WebSocketFrameReader(maxMessageBytes: context.limits.maxMessageBytes, decompressor: negotiated?.decompressor)
        self.openedAt = now
        super.init(key: identity.key)
        if traceID != nil || !forwardable.isEmpty {
            let x = madeExtras()
            x.traceID = traceID
            x.forwardable = forwardable
        }
    }

    /// Trace id from the handshake's `traceparent`: backend calls continue the client's trace.
    var traceID: String? { extras?.traceID }
    /// Handshake headers that some route may forward to backends.
    var forwardable: [ForwardableHeader] { extras?.forwardable ?? [] }

    /// The connection's extras, made on first use.
    func madeExtras() -> WebSocketExtras {
        if let extras { return extras }
        let x = WebSocketExtras()
        extras = x
        return x
    }

    /// Sends the hook's first message, joins the index, and parses what arrived behind the handshake.
    func start(user: String?, rooms: [String], firstMessage: ByteBuffer?, leftover: ByteBuffer) {
        if let first = firstMessage {
            first.withUnsafeReadableBytes { raw in
                writeFrame(opcode: MessageCodec.isValidUTF8(raw) ? .text : .binary, payload: raw)
            }
        }
        guard !machine.isEnded else { return }
        context.sessions.add(self, user: user, rooms: rooms)
        context.metrics.websocketsOpened += 1
        tcp.deadline = machine.deadline
        if context.draining {
            beginDrain()
            return
        }
        if !leftover.isEmpty {
            var bytes = leftover
            bytes.withUnsafeMutableReadableBytes { connectionDidReceive(tcp, $0) }
        }
    }

    // MARK: ConnectionHandler

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        machine.receivedBytes(now: context.loop.now)
        if machine.holdsInput {
            held.write(UnsafeRawBufferPointer(bytes))
            return
        }
        guard !machine.isEnded else { return }
        do {
            try reader.feed(bytes) { event in self.handle(event) }
        } catch {
            fail(error)
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        // The peer vanished without a close frame: 1006 for the disconnect hook.
        perform(machine.peerVanished())
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidTimeOut(_ connection: TCPConnection) {
        refreshIfReloaded()
        perform(machine.deadlinePassed(now: context.loop.now))
        if !machine.isEnded { tcp.deadline = machine.deadline }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        socketClosed = true
        endSession()
        context.closed(self)
    }

    // MARK: ClientHandler

    func beginDrain() {
        perform(machine.beginDrain(now: context.loop.now))
    }

    func forceClose() {
        perform(machine.forceClose())
    }

    /// Starts the closing handshake with `code` (admin API).
    /// Closes with 4001 `token expired` when the token's `exp` (Unix seconds) passes (DESIGN §9).
    func expire(atUnixSeconds exp: Int) {
        // Saturating: a signed token may say the year 3000, whose delay in ns does not fit 64 bits
        // (that trapped), and the loop clock adds with wrapping. 2^42 ms (139 years) is never due.
        let delayMs = max(0, min(max(exp, 0), Int.max / 1000) * 1000 - WallClock.ms())
        let timer = context.loop.makeTimer { [weak self] in
            self?.close(code: WebSocketCloseCode(rawValue: 4001), reason: "token expired")
        }
        timer.schedule(afterNanos: UInt64(min(delayMs, 1 << 42)) * 1_000_000)
        madeExtras().expiryTimer = timer
    }

    func close(code: WebSocketCloseCode, reason: String) {
        perform(machine.close(code: code, reason: reason, now: context.loop.now))
    }

    // MARK: Reading

    private func handle(_ event: WebSocketEvent) -> WebSocketReaderAction {
        guard !machine.isEnded else { return .pause }
        switch event {
        case .text(let payload):
            // After our close frame, data is not acted on: only the peer's close matters.
            guard machine.acceptsMessages else { return .proceed }
            handleMessage(payload, binary: false)
        case .binary(let payload):
            guard machine.acceptsMessages else { return .proceed }
            handleMessage(payload, binary: true)
        case .ping(let payload):
            if machine.receivedPing() {
                tcp.write { WebSocketFrameEncoder.writeFrame(opcode: .pong, payload: payload, into: &$0) }
            }
            return .proceed
        case .pong(let payload):
            machine.receivedPong(payload)
            return .proceed
        case .close(let code, let reason):
            perform(machine.receivedClose(code: code, reason: String(decoding: reason, as: UTF8.self)))
            return .pause
        }
        if machine.isEnded { return .pause }
        if case .pauseReading = machine.messageHandled() {
            // Backpressure: stop reading this socket until answers come back.
            tcp.pauseReading()
            return .pause
        }
        return .proceed
    }

    /// Parses what was kept while paused, as long as reading stays on, then reads the socket again.
    private func resumeReading() {
        do {
            try reader.resume { event in self.handle(event) }
            if !machine.holdsInput && !machine.isEnded && !held.isEmpty {
                var bytes = held
                held = ByteBuffer()
                let r: Result<Void, WebSocketError> = bytes.withUnsafeMutableReadableBytes { raw in
                    Result { () throws(WebSocketError) in try reader.feed(raw) { event in self.handle(event) } }
                }
                try r.get()
            }
        } catch {
            fail(error)
            return
        }
        if !machine.holdsInput && !machine.isEnded { tcp.resumeReading() }
    }

    /// Closes because of a protocol violation: close frame with the mapped code, then TCP.
    private func fail(_ error: WebSocketError) {
        perform(machine.protocolError(code: error.closeCode, reason: error.description))
    }

    // MARK: Carrying out the machine's decisions

    func perform(_ action: WebSocketConnectionMachine.Action) {
        switch action {
        case .none:
            break
        case .pauseReading:
            tcp.pauseReading()
        case .resumeReading:
            resumeReading()
        case .sendPing(let payload):
            withUnsafeBytes(of: payload.bigEndian) { p in
                tcp.write { WebSocketFrameEncoder.writeFrame(opcode: .ping, payload: p, into: &$0) }
            }
            tcp.deadline = machine.deadline
        case .sendClose(let code, let reason):
            tcp.write { WebSocketFrameEncoder.writeClose(code: code, reason: Self.truncatedReason(reason), into: &$0) }
            tcp.deadline = machine.deadline
            // Keep reading to see the client's close frame; what was held is not acted on.
            held.clear()
            tcp.resumeReading()
        case .echoCloseAndClose(let code):
            tcp.write { WebSocketFrameEncoder.writeClose(code: code, reason: "", into: &$0) }
            tcp.close()
            endSession()
        case .closeConnection:
            tcp.close()
            endSession()
        case .fail(let code, let reason, let linger):
            if let code {
                tcp.write { WebSocketFrameEncoder.writeClose(code: code, reason: Self.truncatedReason(reason), into: &$0) }
            }
            if let linger { tcp.close(lingerNanos: linger) } else { tcp.close() }
            endSession()
        case .abort(let code, let reason):
            if let code {
                tcp.write { WebSocketFrameEncoder.writeClose(code: code, reason: Self.truncatedReason(reason), into: &$0) }
            }
            tcp.abort()
            endSession()
        }
    }

    /// A close payload is at most 125 bytes: 2 for the code, so 123 for the reason.
    static func truncatedReason(_ s: String) -> String {
        if s.utf8.count <= 123 { return s }
        var out = ""
        for ch in s {
            if out.utf8.count + String(ch).utf8.count > 123 { break }
            out.append(ch)
        }
        return out
    }

    /// Removes the session from the index and sends its disconnect hook, once: the moment the
    /// connection stops being a WebSocket (closing handshake done, protocol error, EOF, kick…), not
    /// when TCP finally closes.
    private func endSession() {
        guard isIndexed else { return }
        let user = self.user, rooms = self.rooms
        context.sessions.remove(self)
        recordClose(user: user)
        // Not `replies.removeAll()`: this can run from inside the reply queue's own write callback (a
        // reply that overflowed the send queue); queued replies go with the connection.
        sendDisconnectHook(user: user, rooms: rooms)
    }

    /// Counts the close code and writes the access-log line of the close (`info`, opt-in).
    private func recordClose(user: String?) {
        let code = (machine.closeCode ?? .abnormal).rawValue
        context.metrics.recordClose(code: code)
        guard context.logger.logLevel <= .info else { return }
        var meta: Logger.Metadata = [
            "event": "close", "connectionId": "\(identity.key.string)", "module": "\(module.config.path)", "code": .stringConvertible(code),
            "reason": "\(machine.closeReason ?? "")", "durationMs": .stringConvertible((context.loop.now &- openedAt) / 1_000_000),
        ]
        if let user { meta["user"] = "\(user)" }
        context.logger.info("close \(module.config.path) \(code)", metadata: meta)
    }

    /// Queues the module's disconnect hook. `code` is the close code the client sent, or the one the
    /// gateway sent, or 1006 when the connection dropped without a close frame.
    private func sendDisconnectHook(user: String?, rooms: [String]) {
        guard let hook = module.config.disconnect else { return }
        context.postDisconnectHook(
            target: hook, key: identity.key, user: user, rooms: rooms, code: (machine.closeCode ?? .abnormal).rawValue,
            reason: machine.closeReason ?? "", durationMs: Int((context.loop.now &- openedAt) / 1_000_000))
    }

    // MARK: Writing

    /// Writes a shared push frame (fan-out) for this connection's wire format. Returns whether it was
    /// queued.
    override func push(_ frames: PushFrames) -> Bool {
        guard machine.canSendData, let f = frames.frame(for: module.parser) else { return false }
        if deflate != nil && compresses(f.count) {
            pushDeflated(frames, plain: f)
        } else {
            tcp.write(shared: f)
        }
        context.metrics.messagesSent += 1
        context.metrics.fanoutDeliveries += 1
        enforceSendQueueLimit()
        return true
    }

    /// Writes a complete frame (payload already in `payload`) to the socket, enforcing the send queue
    /// limit.
    /// Runs `body` with the loop's context, not retained: a mutation through the `unowned(unsafe)`
    /// reference itself (`context.metrics.x += 1`) still retains and releases it around the access,
    /// twice per message. The context outlives every connection on its loop.
    @inline(__always)
    func withContext<R>(_ body: (LoopContext) throws -> R) rethrows -> R {
        try Unmanaged.passUnretained(context)._withUnsafeGuaranteedRef(body)
    }

    func writeFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
        guard machine.canSendData else { return }
        if deflate == nil || !compresses(payload.count) || !writeDeflated(opcode: opcode, payload: payload) {
            tcp.write { WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: payload, into: &$0) }
        }
        withContext { $0.metrics.messagesSent += 1 }
        enforceSendQueueLimit()
    }

    /// Writes an already framed reply that waited for earlier ones.
    func writeFramed(_ framed: ByteBuffer) {
        guard machine.canSendData, !socketClosed else { return }
        framed.withUnsafeReadableBytes { raw in
            if deflate == nil || !compresses(raw.count) || !writeDeflated(framed: raw) { tcp.write(bytes: raw) }
        }
        context.metrics.messagesSent += 1
        enforceSendQueueLimit()
    }

    /// A client that stops reading is closed with 1008 (policy violation) once more than
    /// `sendQueueBytes` wait for it, so one stalled reader cannot grow the gateway's memory.
    private func enforceSendQueueLimit() {
        guard tcp.queuedBytes > context.limits.sendQueueBytes, !machine.isEnded else { return }
        context.metrics.slowConsumersClosed += 1
        context.logger.warning("closing slow consumer \(identity.id): \(tcp.queuedBytes) bytes queued (limit \(context.limits.sendQueueBytes))",
                               metadata: ["connectionId": "\(identity.key.string)", "module": "\(module.config.path)"])
        perform(machine.sendQueueOverflow())
    }

    /// What the admin API shows about this connection.
    func info() -> ConnectionInfo {
        ConnectionInfo(
            id: identity.id, loop: context.loop.index, path: module.config.path, user: handle?.user, rooms: handle?.rooms ?? [],
            remoteAddress: tcp.remoteAddress?.hostString ?? "", connectedMs: Int((context.loop.now &- identity.acceptedAt) / 1_000_000),
            queuedBytes: tcp.queuedBytes, inflight: machine.inflight)
    }

    /// Takes the module's new definition after a reload (a removed module keeps its old one) and
    /// the new limits.
    func refreshIfReloaded() {
        guard runtimeGeneration != UInt32(truncatingIfNeeded: context.runtimeGeneration) else { return }
        if let m = context.runtime.modules[module.config.path] { module = m }
        runtimeGeneration = UInt32(truncatingIfNeeded: context.runtimeGeneration)
        machine.policy = .init(context.limits)
    }
}

extension WebSocketConnectionMachine.Policy {
    /// The policy `limits` set.
    init(_ limits: Limits) {
        self.init(
            pingIntervalNanos: UInt64(limits.pingIntervalSeconds) * 1_000_000_000,
            idleTimeoutNanos: UInt64(limits.idleTimeoutSeconds) * 1_000_000_000,
            closeTimeoutNanos: UInt64(limits.closeTimeoutSeconds) * 1_000_000_000,
            maxInflight: limits.maxInflightPerConnection)
    }
}
