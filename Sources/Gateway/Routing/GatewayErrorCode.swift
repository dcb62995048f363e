/// Error codes of the client wire format (DESIGN §3). Each maps to one HTTP status, used for
/// `POST <module path>` responses and carried as `status` where it helps.
public enum GatewayErrorCode: String, Sendable, CaseIterable {
    /// The message could not be parsed (bad JSON, missing `cmd`, wrong frame type).
    case badMessage = "bad_message"
    /// No route matches the command and the module has no default.
    case unknownCommand = "unknown_command"
    /// The message or request body exceeds a size limit.
    case tooLarge = "too_large"
    /// The client sends faster than its limit allows.
    case rateLimited = "rate_limited"
    /// The backend refused the connection or could not be reached.
    case backendUnavailable = "backend_unavailable"
    /// The backend did not answer within the route's timeout.
    case backendTimeout = "backend_timeout"
    /// The backend answered with a non-2xx status or an invalid/oversized response.
    case backendError = "backend_error"

    /// The HTTP status for this code.
    public var httpStatus: Int {
        switch self {
        case .badMessage: 400
        case .unknownCommand: 404
        case .tooLarge: 413
        case .rateLimited: 429
        case .backendUnavailable: 503
        case .backendTimeout: 504
        case .backendError: 502
        }
    }
}

/// An error reply: code, human-readable message, and the backend's status when there was one.
struct GatewayReplyError: Error {
    var code: GatewayErrorCode
    var message: String
    /// The backend's HTTP status for `backend_error`, or the mapped status for the others.
    var status: Int?
    /// When the client may try again (`backend_unavailable` from an open circuit): `retryAfterMs`
    /// in the error object, `Retry-After` on HTTP.
    var retryAfterMs: Int? = nil
}
