/// Redis' answer to one channel or pattern of a `SUBSCRIBE`, `UNSUBSCRIBE`, `PSUBSCRIBE` or
/// `PUNSUBSCRIBE` (one per name, not one per command).
public struct RedisSubscriptionConfirmation: Sendable, Equatable {
    /// Which kind of (un)subscription this confirms.
    public enum Kind: String, Sendable {
        /// A channel subscription is active.
        case subscribe
        /// A channel subscription ended.
        case unsubscribe
        /// A pattern subscription is active.
        case psubscribe
        /// A pattern subscription ended.
        case punsubscribe
    }

    /// The kind.
    public var kind: Kind
    /// The channel or pattern.
    public var name: String
    /// How many channels and patterns the connection is subscribed to now.
    public var count: Int

    /// Creates a confirmation.
    public init(kind: Kind, name: String, count: Int) {
        self.kind = kind
        self.name = name
        self.count = count
    }
}
