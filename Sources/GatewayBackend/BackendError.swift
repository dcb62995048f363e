/// Why a backend call produced no usable HTTP response.
public enum BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The backend could not be reached: connection refused, host unresolvable, network unreachable.
    case unavailable(String)
    /// The call did not finish within its timeout.
    case timeout(milliseconds: Int)
    /// The response body exceeded the configured limit; the transfer was aborted.
    case responseTooLarge(limit: Int)
    /// The backend answered with something that is not valid HTTP, or reset the connection mid-response.
    case badResponse(String)
    /// The call was cancelled (gateway shutting down).
    case cancelled
    /// No endpoint of the upstream admits a call (every circuit breaker is open): answered at once,
    /// without trying. A caller may try again after `retryAfterMs`.
    case upstreamUnavailable(upstream: String, retryAfterMs: Int)

    /// A short human-readable message, safe to show to clients.
    public var description: String {
        switch self {
        case .unavailable(let why): "backend unavailable: \(why)"
        case .timeout(let ms): "backend did not answer within \(ms) ms"
        case .responseTooLarge(let limit): "backend response larger than \(limit) bytes"
        case .badResponse(let why): "invalid backend response: \(why)"
        case .cancelled: "backend call cancelled"
        case .upstreamUnavailable(let name, let ms): "no endpoint of upstream \(name) admits calls (circuit open); retry after \(ms) ms"
        }
    }
}
