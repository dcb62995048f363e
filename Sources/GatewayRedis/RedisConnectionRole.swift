/// What a `RedisConnection` is for. Redis puts a connection that subscribes into a mode where it
/// answers nothing but (un)subscriptions and pushes messages, so the two jobs need two connections.
public enum RedisConnectionRole: Sendable, Equatable {
    /// Pipelined commands with one completion each (`send`).
    case commands
    /// `subscribe`/`psubscribe` and their pushed messages, through the delegate.
    case subscriber
}
