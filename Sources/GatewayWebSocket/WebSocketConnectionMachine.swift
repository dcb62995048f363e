/// The life of one server-side WebSocket connection after the handshake, as a sans-IO state machine
/// in the manner of Hummingbird's `WebSocketStateMachine`: the closing handshake (RFC 6455 §5.5.1,
/// §7.1.2–§7.1.4: the peer's code is echoed, no data after a close frame, TCP closes once both close
/// frames are exchanged), keep-alive pings whose pongs must carry the ping's payload, the
/// idle and close timeouts, backpressure on messages in flight, a graceful drain, and a close that
/// waits for the replies already started. It does no I/O: each method returns the `Action` its
/// caller carries out, and `deadline` says when `deadlinePassed` is due.
///
/// `open` → `closeSent` (our close went out; we wait for the peer's, at most `closeTimeout`) →
/// `ended`; or `open` → `ended` when the peer closes first, the connection fails, or the peer
/// vanishes. Once `ended`, the session is over: its caller removes it from its indexes once.
public struct WebSocketConnectionMachine: Sendable {
    /// Timeouts and the in-flight limit, from the configuration; replace it when that is reloaded.
    public struct Policy: Sendable, Equatable {
        /// Silence after which a ping is sent.
        public var pingIntervalNanos: UInt64
        /// Silence after which the connection is closed with 1001 `idle timeout` (a pong counts as
        /// traffic).
        public var idleTimeoutNanos: UInt64
        /// How long our close frame waits for the peer's before the TCP connection is dropped.
        public var closeTimeoutNanos: UInt64
        /// Messages whose answers may be outstanding before reading pauses.
        public var maxInflight: Int

        /// Creates a policy.
        public init(pingIntervalNanos: UInt64, idleTimeoutNanos: UInt64, closeTimeoutNanos: UInt64, maxInflight: Int) {
            self.pingIntervalNanos = pingIntervalNanos
            self.idleTimeoutNanos = idleTimeoutNanos
            self.closeTimeoutNanos = closeTimeoutNanos
            self.maxInflight = maxInflight
        }
    }

    /// Where the connection stands.
    public enum State: Sendable, Equatable {
        /// Data flows both ways.
        case open
        /// Our close frame went out at this loop time; we wait for the peer's.
        case closeSent(at: UInt64)
        /// The session is over; the TCP connection is closing.
        case ended
    }

    /// Whether messages are read while `open`.
    public enum Reading: Sendable, Equatable {
        /// Frames are parsed as they arrive.
        case reading
        /// Paused because `maxInflight` answers are outstanding; resumes when one arrives.
        case pausedForInflight
        /// Stopped for good: a drain or a requested close waits for the answers in flight, then the
        /// closing handshake starts with this code and reason.
        case stopped(WebSocketCloseCode, reason: String)
    }

    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        /// Nothing.
        case none
        /// Stop reading the socket (bytes already received are kept for later).
        case pauseReading
        /// Parse what was kept, then read the socket again.
        case resumeReading
        /// Write a ping with this 8-byte payload (big-endian); its pong must carry it back.
        case sendPing(payload: UInt64)
        /// Start the closing handshake: write a close frame, keep reading to see the peer's answer
        /// (drop bytes kept while paused), and set the deadline.
        case sendClose(WebSocketCloseCode, reason: String)
        /// The peer closed first: write a close frame with this code, then close the TCP connection.
        /// The session has ended.
        case echoCloseAndClose(WebSocketCloseCode)
        /// The closing handshake is complete: close the TCP connection. The session has ended.
        case closeConnection
        /// Fail the connection: write a close frame when a code is given, then close the TCP
        /// connection gracefully (waiting `lingerNanos` for the peer, or the default when nil). The
        /// session has ended.
        case fail(WebSocketCloseCode?, reason: String, lingerNanos: UInt64?)
        /// Drop the TCP connection now, after writing a close frame when a code is given. The
        /// session has ended.
        case abort(WebSocketCloseCode?, reason: String)
    }

    /// The current state.
    public private(set) var state: State = .open
    /// Whether messages are read (meaningful while `open`).
    public var reading: Reading { _reading }
    /// Answers outstanding (messages whose backend calls are in flight).
    public var inflight: Int { _inflight }
    /// Loop time of the last bytes received.
    public var lastActivity: UInt64 { _lastActivity }
    // Stored as internal and `@usableFromInline` so the calls made for every message (receiving,
    // counting calls, the backpressure check) inline into the caller's module.
    @usableFromInline var _reading: Reading = .reading
    @usableFromInline var _inflight = 0
    @usableFromInline var _lastActivity: UInt64
    /// The payload of the ping that has not been answered yet, if any.
    public private(set) var outstandingPing: UInt64?
    /// The close code and reason that ended the session, for the disconnect hook: the peer's, or
    /// ours, or 1006 `connection lost` when the peer vanished without a close frame. Nil while open.
    public private(set) var closeCode: WebSocketCloseCode?
    /// See `closeCode`.
    public private(set) var closeReason: String?
    /// Timeouts and limits in force.
    public var policy: Policy
    private var pingsSent: UInt64 = 0

    /// A connection opened at loop time `now`.
    public init(policy: Policy, now: UInt64) {
        self.policy = policy
        self._lastActivity = now
    }

    /// Whether data frames may be sent (RFC 6455 §5.5.1: none after a close frame).
    @inlinable public var canSendData: Bool { state == .open }

    /// Whether the session is over.
    @inlinable public var isEnded: Bool { state == .ended }

    /// Whether received bytes must be kept for later instead of parsed (reading is paused or stopped).
    @inlinable public var holdsInput: Bool { state == .open && _reading != .reading }

    /// Whether parsed messages are to be handled: open and reading.
    @inlinable public var acceptsMessages: Bool { state == .open && _reading == .reading }

    /// When `deadlinePassed` is due (loop clock, nanoseconds); 0 when no timer is needed.
    public var deadline: UInt64 {
        switch state {
        case .open:
            let wait = outstandingPing == nil ? min(policy.pingIntervalNanos, policy.idleTimeoutNanos) : policy.idleTimeoutNanos
            return lastActivity &+ wait
        case .closeSent(let at):
            return at &+ policy.closeTimeoutNanos
        case .ended:
            return 0
        }
    }

    // MARK: Received

    /// Bytes arrived (any frame counts as traffic for the idle timeout).
    @inlinable
    public mutating func receivedBytes(now: UInt64) {
        _lastActivity = now
    }

    /// A ping arrived: whether to answer it with a pong carrying its payload.
    public func receivedPing() -> Bool { canSendData }

    /// A pong arrived. It answers the outstanding ping only when it carries that ping's payload (an
    /// unsolicited pong is just traffic).
    public mutating func receivedPong(_ payload: UnsafeRawBufferPointer) {
        guard let expected = outstandingPing, payload.count == 8 else { return }
        var value: UInt64 = 0
        for b in payload { value = value << 8 | UInt64(b) }
        if value == expected { outstandingPing = nil }
    }

    /// The peer's close frame arrived (`code` nil: it had no payload).
    public mutating func receivedClose(code: WebSocketCloseCode?, reason: String) -> Action {
        record(code ?? .noStatus, reason)
        switch state {
        case .open:
            state = .ended
            // Echo the peer's code (RFC 6455 §5.5.1); 1005 may not be sent, so an empty close gets 1000.
            return .echoCloseAndClose(code ?? .normalClosure)
        case .closeSent:
            state = .ended
            return .closeConnection
        case .ended:
            return .none
        }
    }

    /// The peer broke the protocol: fail with `code` (RFC 6455 §7.1.7).
    public mutating func protocolError(code: WebSocketCloseCode, reason: String) -> Action {
        record(code, reason)
        let send = state == .open
        state = .ended
        return .fail(send ? code : nil, reason: reason, lingerNanos: nil)
    }

    /// The peer's side ended (EOF or a receive error) without the closing handshake.
    public mutating func peerVanished() -> Action {
        record(.abnormal, "connection lost")
        state = .ended
        return .abort(nil, reason: "connection lost")
    }

    // MARK: Messages in flight

    /// A message started work whose answer comes later (a backend call).
    @inlinable
    public mutating func callStarted() {
        _inflight += 1
    }

    /// A message was handled: whether reading must pause because too many answers are outstanding.
    @inlinable
    public mutating func messageHandled() -> Action {
        guard _inflight >= policy.maxInflight, state == .open, _reading == .reading else { return .none }
        _reading = .pausedForInflight
        return .pauseReading
    }

    /// An answer arrived (written by the caller before this call): resume reading below the limit,
    /// or start the requested close once nothing is outstanding.
    @inlinable
    public mutating func callFinished(now: UInt64) -> Action {
        _inflight = max(0, _inflight - 1)
        // The usual case, inlined: reading, nothing to decide.
        if case .reading = _reading { return .none }
        return afterCallFinished(now: now)
    }

    @usableFromInline
    mutating func afterCallFinished(now: UInt64) -> Action {
        guard state == .open else { return .none }
        switch reading {
        case .reading:
            return .none
        case .pausedForInflight:
            guard inflight < policy.maxInflight else { return .none }
            _reading = .reading
            return .resumeReading
        case .stopped(let code, let reason):
            guard inflight == 0 else { return .none }
            return startClose(code, reason, now: now)
        }
    }

    // MARK: Closing from our side

    /// Close once the answers in flight are written (a backend's `Gateway-Close`). Takes precedence
    /// over a drain's 1001.
    public mutating func closeAfterInflight(code: WebSocketCloseCode, reason: String, now: UInt64) -> Action {
        guard state == .open else { return .none }
        if inflight == 0 { return startClose(code, reason, now: now) }
        let wasReading = reading != .pausedForInflight
        _reading = .stopped(code, reason: reason)
        return wasReading ? .pauseReading : .none
    }

    /// A graceful shutdown: stop reading, close with 1001 once the answers in flight are written.
    public mutating func beginDrain(now: UInt64) -> Action {
        guard state == .open else { return .none }
        if case .stopped = reading { return .none }  // a requested close keeps its code
        return closeAfterInflight(code: .goingAway, reason: "server shutting down", now: now)
    }

    /// Close now with `code` (the admin API): the closing handshake starts at once.
    public mutating func close(code: WebSocketCloseCode, reason: String, now: UInt64) -> Action {
        guard state == .open else { return .none }
        return startClose(code, reason, now: now)
    }

    /// The peer does not read: more than the send queue allows is waiting. Fails with 1008 and
    /// lingers up to `closeTimeout` for the close frame to go out.
    public mutating func sendQueueOverflow() -> Action {
        guard state != .ended else { return .none }
        closeCode = .policyViolation
        closeReason = "send queue full"
        let send = state == .open
        state = .ended
        return .fail(send ? .policyViolation : nil, reason: "send queue full", lingerNanos: policy.closeTimeoutNanos)
    }

    /// The drain's time is up: close now, with 1001 if no close frame went out yet.
    public mutating func forceClose() -> Action {
        let send = state == .open
        if send { record(.goingAway, "server shutting down") }
        state = .ended
        return .abort(send ? .goingAway : nil, reason: "server shutting down")
    }

    // MARK: Time

    /// `deadline` passed: send a ping, close an idle connection, or give up on an unanswered close.
    public mutating func deadlinePassed(now: UInt64) -> Action {
        switch state {
        case .ended:
            return .abort(nil, reason: "")
        case .closeSent:
            // Our close frame went unanswered.
            state = .ended
            return .abort(nil, reason: "close timeout")
        case .open:
            let silent = now &- lastActivity
            if silent >= policy.idleTimeoutNanos { return startClose(.goingAway, "idle timeout", now: now) }
            if outstandingPing == nil && silent >= policy.pingIntervalNanos {
                pingsSent &+= 1
                outstandingPing = pingsSent
                return .sendPing(payload: pingsSent)
            }
            return .none
        }
    }

    private mutating func startClose(_ code: WebSocketCloseCode, _ reason: String, now: UInt64) -> Action {
        record(code, reason)
        state = .closeSent(at: now)
        _reading = .reading
        return .sendClose(code, reason: reason)
    }

    private mutating func record(_ code: WebSocketCloseCode, _ reason: String) {
        if closeCode == nil {
            closeCode = code
            closeReason = reason
        }
    }
}
