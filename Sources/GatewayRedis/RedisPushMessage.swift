/// A message Redis pushed to a subscriber connection: a `message` (from `SUBSCRIBE`) or a
/// `pmessage` (from `PSUBSCRIBE`, with the pattern that matched).
public struct RedisPushMessage: Sendable, Equatable {
    /// The channel it was published to.
    public var channel: [UInt8]
    /// The pattern that matched, for a `pmessage`; nil for a plain `message`.
    public var pattern: [UInt8]?
    /// The published bytes.
    public var payload: [UInt8]

    /// Creates a message.
    public init(channel: [UInt8], pattern: [UInt8]? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}
