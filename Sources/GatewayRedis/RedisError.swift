/// What can go wrong with a Redis connection or command, apart from Redis answering with an error
/// reply (that is `RedisReply.error`).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis sent bytes that are not RESP; the reader's message. The connection is dropped.
    case protocolError(String)
    /// The connection dropped while the command was in flight: it may or may not have run.
    case connectionLost
    /// The bounded queue is full: the command was refused (and counted in `dropped`).
    case queueFull(commands: Int, bytes: Int)
    /// `AUTH` or `SELECT` from the URL was answered with an error (wrong password, database out of
    /// range). Commands waiting for the handshake fail with it; the connection retries with backoff.
    case handshakeFailed(command: String, message: String)
    /// `close()` was called: the command will never be sent.
    case closed
    /// The command does not fit the connection's role (`send` on a subscriber connection).
    case wrongRole

    /// One line for logs.
    public var description: String {
        switch self {
        case .protocolError(let m): "Redis protocol error: \(m)"
        case .connectionLost: "connection to Redis lost with the command in flight"
        case .queueFull(let c, let b): "Redis queue full (limit \(c) commands, \(b) bytes): command refused"
        case .handshakeFailed(let c, let m): "Redis \(c) failed: \(m)"
        case .closed: "Redis connection closed"
        case .wrongRole: "command not allowed on a subscriber connection (use subscribe/unsubscribe)"
        }
    }
}
