/// A call addressed to an upstream group instead of a URL (`"upstream": "users", "path": "/rpc"`):
/// `BackendClient.start` picks the endpoint and makes the URL (endpoint + `path`).
///
/// A class, made once per route: a spec carries one reference, so a spec of a call to a URL (most
/// calls) stays as cheap to copy as before it could name an upstream.
public final class UpstreamTarget: Sendable, Equatable, CustomStringConvertible {
    /// The group's name (checked against `index` when the call starts: a connection that still
    /// routes by an older config finds its upstream by name).
    public let name: String
    /// Where the group is in the config's upstream list (and the client's, which follows it).
    public let index: Int
    /// Appended to the endpoint's base URL. `/` by default.
    public let path: String
    /// The route says its command is idempotent: a timed-out call may be retried (if `retry.on`
    /// lists `timeout`).
    public let idempotent: Bool
    /// The group retries: the call carries `Idempotency-Key` (DESIGN §10), the first try too.
    public let retries: Bool
    /// Which of the group's paths this is (the config numbers the distinct paths of each group):
    /// each loop keeps the endpoint URLs of a path under this number, so a call finds its URL
    /// without hashing the path. A hint, not part of equality.
    public let pathIndex: Int

    /// A target; see the properties.
    public init(name: String, index: Int, path: String = "/", idempotent: Bool = false, retries: Bool = false, pathIndex: Int = 0) {
        self.name = name
        self.index = index
        self.path = path
        self.idempotent = idempotent
        self.retries = retries
        self.pathIndex = pathIndex
    }

    public static func == (a: UpstreamTarget, b: UpstreamTarget) -> Bool {
        a.name == b.name && a.index == b.index && a.path == b.path && a.idempotent == b.idempotent && a.retries == b.retries
    }

    /// `upstream <name> <path>`.
    public var description: String { "upstream \(name) \(path)" }
}
