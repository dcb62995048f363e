/// The closing handshake (RFC 6455 §5.5.1, §7.1.2–§7.1.4) as a tiny state machine that returns
/// actions and does no I/O, after Hummingbird's `WebSocketStateMachine`.
///
/// `open` → `closeSent` (we sent a close and wait for the peer's) → `closed`, or `open` → `closed`
/// directly when the peer closes first, because the echo goes out in the same action. A server
/// closes the TCP connection as soon as both close frames have been exchanged (RFC 6455 §7.1.1).
/// The caller also runs its close timeout while in `closeSent` (the peer may never answer).
public struct WebSocketCloseState: Sendable, Equatable {
    /// Where the closing handshake stands.
    public enum State: Sendable, Equatable {
        /// Data flows both ways.
        case open
        /// We sent a close with this code and wait for the peer's.
        case closeSent(WebSocketCloseCode)
        /// Both close frames were exchanged (or are being sent with the returned action).
        case closed
    }

    /// What to do after the peer's close frame arrived.
    public enum ReceivedCloseAction: Sendable, Equatable {
        /// Send a close frame with this code (the peer's, or 1000 if its close had none), then close
        /// the TCP connection.
        case sendCloseAndCloseConnection(WebSocketCloseCode)
        /// Our close was already sent: this was the answer. Close the TCP connection.
        case closeConnection
        /// The handshake was already complete; nothing to do.
        case ignore
    }

    /// What to do when the server wants to close.
    public enum SendCloseAction: Sendable, Equatable {
        /// Send a close frame with this code, then wait for the peer's (with a timeout).
        case send(WebSocketCloseCode)
        /// A close was already sent or received; send nothing.
        case alreadySent
    }

    /// The current state.
    public private(set) var state: State = .open

    /// A connection that is open.
    public init() {}

    /// Whether data frames may still be sent: only before any close frame (RFC 6455 §5.5.1: no data
    /// after a close frame).
    public var canSendData: Bool { state == .open }

    /// The peer's close frame arrived.
    /// - Parameter code: the peer's code, or nil when its close payload was empty. Echoing the code is
    ///   what RFC 6455 §5.5.1 suggests; for an empty close 1000 is sent, since 1005 may not be sent.
    public mutating func receivedClose(code: WebSocketCloseCode?) -> ReceivedCloseAction {
        switch state {
        case .open:
            state = .closed
            return .sendCloseAndCloseConnection(code ?? .normalClosure)
        case .closeSent:
            state = .closed
            return .closeConnection
        case .closed:
            return .ignore
        }
    }

    /// The server wants to close (shutdown, policy, or a `WebSocketError`'s `closeCode`). When failing
    /// the connection on a protocol error, close the TCP connection right after sending.
    public mutating func sendClose(code: WebSocketCloseCode) -> SendCloseAction {
        switch state {
        case .open:
            state = .closeSent(code)
            return .send(code)
        case .closeSent, .closed:
            return .alreadySent
        }
    }
}
