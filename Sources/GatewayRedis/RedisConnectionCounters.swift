/// Totals since a `RedisConnection` was made, for metrics. They only grow.
public struct RedisConnectionCounters: Sendable, Equatable {
    /// Commands written to the socket (the handshake's and (un)subscriptions included).
    public var commandsSent: UInt64 = 0
    /// Replies received, pushed messages and error replies included.
    public var replies: UInt64 = 0
    /// Error replies, protocol errors and failed handshakes.
    public var errors: UInt64 = 0
    /// Connection attempts after the first (each drop or failed attempt leads to one).
    public var reconnects: UInt64 = 0
    /// Commands refused because the bounded queue was full (`RedisError.queueFull`).
    public var dropped: UInt64 = 0
    /// Completions failed with `connectionLost`, `closed` or a handshake error.
    public var failed: UInt64 = 0
    /// Pub/sub messages delivered to the delegate (subscriber connections).
    public var messages: UInt64 = 0

    /// All zero.
    public init() {}
}
