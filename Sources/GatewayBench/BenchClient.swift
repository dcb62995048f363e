internal import Synchronization
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket

/// One client WebSocket connection of the load generator, and its `ConnectionHandler`.
///
/// Each loop's `BenchWorker` preallocates one `BenchClient` per connection it owns, so nothing is
/// allocated per message: received frames are parsed in place by `WebSocketFrameReader`, replies are
/// rendered into the worker's scratch buffer and framed (masked, with a fresh key) straight into
/// `TCPConnection.write`, whose pooled buffers are reused. In the handshakes scenario the same object
/// is reused for every connection of its slot.
///
/// Life cycle: idle → connecting → handshaking → open → closing → finished (or failed from any
/// state). Errors are counted once per connection, in wsload's categories.
final class BenchClient: ConnectionHandler {
    /// Where the current connection is in its life cycle.
    enum State {
        case idle, connecting, handshaking, open, closing, finished
    }

    /// Error categories, as wsload reports them.
    enum Failure {
        case connect, handshake, timeout, protocolError, eof, io
    }

    unowned let worker: BenchWorker
    /// The connection's index over the whole run (`{{conn}}`).
    let index: Int
    /// The fanout publisher's connection (not a subscriber; not counted as a connection).
    let isPublisher: Bool
    private(set) var connection: TCPConnection?
    private(set) var state: State = .idle
    /// An error was counted for the current connection; nothing more is counted for it.
    private(set) var failed = false
    /// This slot already reported its first connect outcome to `RunControl`.
    private var reportedConnect = false

    private var reader: WebSocketFrameReader
    private var response: [UInt8] = []
    private var expectedAccept = ""
    private var startedAt: UInt64 = 0
    var nextPing: UInt64 = 0
    /// The server's close frame arrived on the current connection.
    private var closeFrameReceived = false

    /// rtt: the per-connection message counter (`{{seq}}`).
    var seq: UInt64 = 0
    /// rtt: send times of the messages in flight, a ring of `pipeline` entries.
    var sentAt: [UInt64]
    var ringHead = 0
    var inFlight = 0

    /// rtt open loop: the connection's messages that came due so far (the next due one's number),
    /// that were sent, and that were answered. `sent - acked` are in flight; `due - sent` are held.
    var olDue: UInt64 = 0
    var olSent: UInt64 = 0
    var olAcked: UInt64 = 0
    /// rtt open loop: the connection was open when the schedule started (its slots are expected).
    var olStarted = false

    init(worker: BenchWorker, index: Int, isPublisher: Bool, pipeline: Int, maxMessageBytes: Int, retainedCapacity: Int) {
        self.worker = worker
        self.index = index
        self.isPublisher = isPublisher
        sentAt = [UInt64](repeating: 0, count: max(1, pipeline))
        reader = WebSocketFrameReader(
            maxMessageBytes: maxMessageBytes, requireMaskedFrames: false, retainedCapacity: retainedCapacity,
            decompressor: worker.decompressor)
    }

    /// Whether the handshake finished and no close started.
    var isOpen: Bool { state == .open }
    /// Whether a socket is being connected or upgraded.
    var isConnecting: Bool { state == .connecting || state == .handshaking }

    // MARK: Starting and stopping

    /// Opens a new connection (the slot must be idle or finished).
    func start(now: UInt64, to url: BenchURL) {
        state = .connecting
        failed = false
        closeFrameReceived = false
        startedAt = now
        seq = 0
        ringHead = 0
        inFlight = 0
        reader = WebSocketFrameReader(
            maxMessageBytes: reader.maxMessageBytes, requireMaskedFrames: false, retainedCapacity: reader.retainedCapacity,
            decompressor: worker.decompressor)
        response.removeAll(keepingCapacity: true)
        worker.handshakesInFlight += 1
        guard let c = try? worker.loop.connect(to: url.address, handler: self, tls: url.tls, serverName: url.serverName) else {
            // socket() failed (EMFILE/ENFILE): there is no connection to wait for.
            fail(.connect, "socket: out of descriptors or memory")
            state = .finished
            worker.clientDidFinish(self)
            return
        }
        connection = c
        c.userTag = index
        c.deadline = now &+ worker.config.timeoutNanos
        worker.socketOpened()
    }

    /// Starts the closing handshake (close 1000), or drops a connection still being set up.
    func beginClose(now: UInt64) {
        switch state {
        case .open:
            guard let c = connection else { return }
            writeClose(c, code: 1000)
            state = .closing
            c.deadline = now &+ 2_000_000_000
        case .connecting, .handshaking:
            // Only reached when the run is cut short (SIGINT, or the publisher's loop): not an error.
            failed = true
            leaveConnecting(ok: false)
            connection?.abort()
        default:
            break
        }
    }

    /// Counts `failure` (once per connection) and drops the connection.
    func fail(_ failure: Failure, _ detail: @autoclosure () -> String) {
        guard !failed else { return }
        failed = true
        worker.count(failure, detail: detail())
        if state == .connecting || state == .handshaking { leaveConnecting(ok: false) }
        connection?.abort()
    }

    /// Accounting when the connect/handshake phase ends either way.
    private func leaveConnecting(ok: Bool) {
        worker.handshakesInFlight -= 1
        if isPublisher {
            worker.control.publisherState.store(ok ? 1 : 2, ordering: .relaxed)
            return
        }
        if ok { worker.stats.connectionsOK += 1 } else { worker.stats.connectionsFailed += 1 }
        if !reportedConnect {
            reportedConnect = true
            if ok { worker.control.connectionsOK.add(1, ordering: .relaxed) }
            worker.control.connectionsDone.add(1, ordering: .relaxed)
        }
    }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: TCPConnection) {
        guard state == .connecting else { return }
        state = .handshaking
        let upgrade = isPublisher ? worker.publisherUpgrade : worker.upgrade
        expectedAccept = connection.write { upgrade.write(random: &worker.random, into: &$0) } ?? ""
    }

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        switch state {
        case .open, .closing:
            if !isPublisher { worker.stats.bytesIn &+= UInt64(bytes.count) }
            receiveFrames(connection, bytes, now: MonotonicClock.now())
        case .handshaking:
            receiveHandshake(connection, bytes)
        default:
            break
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        switch state {
        case .closing:
            connection.close()
        case .handshaking:
            fail(.handshake, "connection closed during the handshake")
        case .open:
            fail(.eof, "server closed the connection without a close frame")
        default:
            connection.abort()
        }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidTimeOut(_ connection: TCPConnection) {
        switch state {
        case .connecting, .handshaking:
            fail(.timeout, "connect + handshake took longer than --timeout")
        case .closing:
            worker.stats.closeTimeouts &+= 1
            connection.abort()  // no close reply or EOF within 2 s: give up quietly, as wsload
        default:
            break
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        if state == .closing && !closeFrameReceived { worker.stats.closesUnanswered &+= 1 }
        self.connection = nil
        worker.socketClosed()
        if !failed {
            switch state {
            case .connecting:
                fail(.connect, error.map { "\($0)" } ?? "connect failed")
            case .handshaking:
                fail(error == nil ? .handshake : .io, error.map { "\($0)" } ?? "connection closed during the handshake")
            case .open:
                fail(error == nil ? .eof : .io, error.map { "\($0)" } ?? "connection closed")
            default:
                break
            }
        }
        state = .finished
        worker.clientDidFinish(self)
    }

    // MARK: Handshake

    private func receiveHandshake(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        let before = response.count
        response.append(contentsOf: UnsafeRawBufferPointer(bytes))
        let verdict = response.withUnsafeBytes { UpgradeRequest.verify($0, expectedAccept: expectedAccept) }
        switch verdict {
        case .incomplete:
            return
        case .rejected(let status, let reason):
            worker.stats.lastHandshakeStatus = status
            fail(.handshake, reason)
        case .accepted(let headLength):
            let now = MonotonicClock.now()
            state = .open
            connection.deadline = 0
            leaveConnecting(ok: true)
            if !isPublisher { worker.connectLatency.record(now &- startedAt) }
            nextPing = worker.config.pingIntervalNanos > 0 ? now &+ worker.config.pingIntervalNanos : 0
            worker.clientDidOpen(self, connection, now: now, handshakeNanos: now &- startedAt)
            let leftover = headLength - before
            if leftover < bytes.count, state == .open || state == .closing {
                receiveFrames(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[max(0, leftover)...]), now: now)
            }
        }
    }

    // MARK: Frames

    private func receiveFrames(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer, now: UInt64) {
        do {
            try reader.feed(bytes) { event in
                switch event {
                case .text(let payload), .binary(let payload):
                    worker.stats.received &+= 1
                    if !isPublisher { worker.messageReceived(self, connection, payload, now: now) }
                case .ping(let payload):
                    worker.stats.pingsReceived &+= 1
                    let key = worker.random.maskingKey()
                    connection.write { WebSocketFrameEncoder.writeFrame(opcode: .pong, payload: payload, maskingKey: key, into: &$0) }
                case .pong:
                    worker.stats.pongsReceived &+= 1
                case .close(let code, _):
                    closeReceived(connection, code: code?.rawValue, now: now)
                }
                return .proceed
            }
        } catch {
            fail(.protocolError, "\(error)")
        }
    }

    private func closeReceived(_ connection: TCPConnection, code: UInt16?, now: UInt64) {
        closeFrameReceived = true
        if state == .closing {
            worker.stats.closeReplies &+= 1
            return  // our close was answered; wait for the server's EOF
        }
        worker.stats.closeReceived &+= 1
        worker.stats.closeCodes[code ?? 1005, default: 0] += 1
        if worker.stats.firstError == nil { worker.stats.firstError = "server sent close \(code ?? 1005)" }
        writeClose(connection, code: code)
        state = .closing
        connection.deadline = now &+ 2_000_000_000
    }

    /// Writes a masked close frame; `nil` code sends an empty payload (the reply to an empty close).
    func writeClose(_ connection: TCPConnection, code: UInt16?) {
        let key = worker.random.maskingKey()
        connection.write { buffer in
            var payload = (code ?? 0).bigEndian
            withUnsafeBytes(of: &payload) { raw in
                let p = code == nil ? UnsafeRawBufferPointer(rebasing: raw[0..<0]) : raw
                WebSocketFrameEncoder.writeFrame(opcode: .close, payload: p, maskingKey: key, into: &buffer)
            }
        }
    }

    /// Sends a ping (`--ping`).
    func sendPing(_ connection: TCPConnection) {
        let key = worker.random.maskingKey()
        let payload: StaticString = "gateway-bench"
        connection.write {
            WebSocketFrameEncoder.writeFrame(
                opcode: .ping, payload: UnsafeRawBufferPointer(start: payload.utf8Start, count: payload.utf8CodeUnitCount),
                maskingKey: key, into: &$0)
        }
        worker.stats.pingsSent &+= 1
    }
}

@available(*, unavailable)
extension BenchClient: Sendable {}
