internal import GatewayIO

/// What the delivery path needs from the cluster: this node's id and a way to hand a delivery to
/// the other nodes. Called from any loop; the implementation moves the message to the loop that
/// owns the Redis connections, in call order, so the deliveries of one loop keep their order.
protocol ClusterLink: AnyObject, Sendable {
    /// This node's id (fixed for the process).
    var node: String { get }
    /// Publishes `message` for the other nodes. Never blocks; a message that cannot be queued is
    /// counted and logged, not retried forever. `loop` is the caller's.
    func publish(_ message: ClusterMessage, from loop: EventLoop)
    /// A loop's sessions gained the first member of a room or user, or lost the last: the node
    /// subscribes to that room's or user's channel while any loop has members.
    func interest(_ change: SessionShard.IndexChange)
    /// A session opened or changed (its record), or ended (nil): kept in Redis so that a surviving
    /// node can send its disconnect hook if this node dies.
    func sessionChanged(_ id: String, _ record: PresenceRecord?)
    /// Runs an admin operation on a connection of another node: looks the session up in Redis and,
    /// when it exists, sends the operation to its node. `done` gets the session's record as it was
    /// (nil: no such session), on loop 0. Call on loop 0 (the admin API's loop).
    func forward(_ control: ClusterControl, done: @escaping (PresenceRecord?) -> Void)
}
