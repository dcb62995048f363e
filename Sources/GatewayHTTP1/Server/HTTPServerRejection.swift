/// Why `HTTPServerExchange` refuses a request. Each maps to one status; the connection closes after
/// the response.
public enum HTTPServerRejection: Sendable, Equatable {
    /// An HTTP/1.1 request without `Host` (RFC 9112 §3.2): 400.
    case missingHost
    /// A buffered body larger than the limit: 413.
    case bodyTooLarge(limit: Int)
    /// The request is not valid HTTP/1.1; the error carries its own status (400, 414, 431, 501…).
    case malformed(HTTPParseError)

    /// The response status.
    public var status: Int {
        switch self {
        case .missingHost: 400
        case .bodyTooLarge: 413
        case .malformed(let e): e.status
        }
    }
}
