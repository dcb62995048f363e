public import GatewayBackend

/// Where a hook goes: a URL, or an upstream group and a path (`{"upstream": "auth", "path":
/// "/connect"}`), which then gets the group's balancing, health checks, retries and breakers.
public enum BackendTarget: Sendable, Equatable, CustomStringConvertible {
    /// Call this URL.
    case url(String)
    /// Call an endpoint of this upstream.
    case upstream(UpstreamTarget)

    /// For logs: the URL, or `upstream <name> <path>`.
    public var description: String {
        switch self {
        case .url(let u): u
        case .upstream(let t): "upstream \(t.name) \(t.path)"
        }
    }
}

extension BackendCallSpec {
    /// Addresses the call to `target`.
    mutating func setTarget(_ target: BackendTarget) {
        switch target {
        case .url(let u): url = u
        case .upstream(let t): upstream = t
        }
    }
}
