/// A state change of an upstream endpoint, for the log line and the metrics every change gets.
public enum UpstreamEvent: Sendable, CustomStringConvertible {
    /// A loop's breaker for the endpoint changed state.
    case breaker(upstream: String, endpoint: String, from: CircuitBreaker.State, to: CircuitBreaker.State, reason: String)
    /// A loop ejected the endpoint (passive outlier detection).
    case ejected(upstream: String, endpoint: String, forMs: Int, count: Int)
    /// The ejection ended.
    case returned(upstream: String, endpoint: String)
    /// Active health checks changed the endpoint's health (once per gateway).
    case health(upstream: String, endpoint: String, healthy: Bool, reason: String)

    /// The log line: upstream, endpoint, old -> new, why.
    public var description: String {
        switch self {
        case .breaker(let u, let e, let from, let to, let why):
            "upstream \(u) endpoint \(e): circuit breaker \(from.rawValue) -> \(to.rawValue) (\(why))"
        case .ejected(let u, let e, let ms, let n):
            "upstream \(u) endpoint \(e): in rotation -> ejected for \(ms) ms (ejection \(n) in a row, consecutive failures)"
        case .returned(let u, let e):
            "upstream \(u) endpoint \(e): ejected -> in rotation (ejection time over)"
        case .health(let u, let e, let healthy, let why):
            "upstream \(u) endpoint \(e): health \(healthy ? "unhealthy -> healthy" : "healthy -> unhealthy") (\(why))"
        }
    }
}
