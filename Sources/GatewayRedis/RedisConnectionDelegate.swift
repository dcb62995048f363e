/// Hears what a `RedisConnection` has to say on its own: state changes, and for a subscriber
/// connection the pushed messages and subscription confirmations. Called on the connection's loop.
public protocol RedisConnectionDelegate: AnyObject {
    /// The connection moved to `state` (also read from `connection.state`).
    func redisConnection(_ connection: RedisConnection, didChangeState state: RedisConnectionState)
    /// A subscriber connection received a pub/sub message.
    func redisConnection(_ connection: RedisConnection, didReceive message: RedisPushMessage)
    /// A subscriber connection's (un)subscription was confirmed by Redis, including the ones sent
    /// again after a reconnect.
    func redisConnection(_ connection: RedisConnection, didConfirm confirmation: RedisSubscriptionConfirmation)
    /// A command connection came up with commands queued: true holds them (`isHoldingQueue`) until
    /// the delegate calls `releaseQueue()`, after checks it writes with `sendAhead`. Called before
    /// the `up` state change.
    func redisConnectionShouldHoldQueue(_ connection: RedisConnection) -> Bool
}

extension RedisConnectionDelegate {
    /// Ignored unless implemented.
    public func redisConnection(_ connection: RedisConnection, didChangeState state: RedisConnectionState) {}
    /// Ignored unless implemented (command connections never receive messages).
    public func redisConnection(_ connection: RedisConnection, didReceive message: RedisPushMessage) {}
    /// Ignored unless implemented.
    public func redisConnection(_ connection: RedisConnection, didConfirm confirmation: RedisSubscriptionConfirmation) {}
    /// Never holds unless implemented.
    public func redisConnectionShouldHoldQueue(_ connection: RedisConnection) -> Bool { false }
}
