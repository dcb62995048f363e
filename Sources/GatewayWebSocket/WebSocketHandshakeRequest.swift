/// The WebSocket-specific parts of a valid upgrade request, returned by `WebSocketHandshake.validate`.
/// Path, query and cookies stay in the `HTTPRequestHead`; policy (which path, which origin, which
/// subprotocol) belongs to the gateway's modules, not to this module.
public struct WebSocketHandshakeRequest: Sendable, Equatable {
    /// `Sec-WebSocket-Key`, trimmed; feed it to `WebSocketHandshake.acceptValue(forKey:)`.
    public var key: String
    /// `Sec-WebSocket-Protocol` tokens in the client's order of preference (RFC 6455 §4.1, item 10).
    public var subprotocols: [String]
    /// `Sec-WebSocket-Extensions` field values as received, unparsed. The gateway negotiates none.
    public var extensions: [String]
    /// `Origin`, if the client sent one (browsers always do, RFC 6455 §10.2).
    public var origin: String?

    /// Creates a request description.
    public init(key: String, subprotocols: [String] = [], extensions: [String] = [], origin: String? = nil) {
        self.key = key
        self.subprotocols = subprotocols
        self.extensions = extensions
        self.origin = origin
    }

    /// The `Sec-WebSocket-Accept` value that answers this request's key.
    public var acceptValue: String { WebSocketHandshake.acceptValue(forKey: key) }
}
