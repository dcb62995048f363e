/// The status line and header fields of one HTTP/1.x response.
public struct HTTPResponseHead: Sendable, Equatable {
    /// The protocol version the backend answered with (HTTP/1.0 or HTTP/1.1).
    public var version: HTTPVersion
    /// The status code, 100–999.
    public var status: Int
    /// The reason phrase, possibly empty. RFC 9112 §4 tells clients to ignore its content; it is kept
    /// for logs.
    public var reason: String
    /// The header fields, in arrival order.
    public var headers: HTTPHeaders

    /// Creates a head.
    public init(version: HTTPVersion = .http1_1, status: Int, reason: String = "", headers: HTTPHeaders = HTTPHeaders()) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Whether this is an interim (1xx) response other than 101 Switching Protocols: the final
    /// response to the same request follows it (RFC 9110 §15.2).
    public var isInterim: Bool {
        status >= 100 && status < 200 && status != 101
    }
}
