/// A call addressed to an upstream group instead of a URL (`"upstream": "users", "path": "/rpc"`):
/// `BackendClient.start` picks the endpoint and makes the URL (endpoint + `path`).
public struct UpstreamTarget: Sendable, Equatable {
    /// The group's name (checked against `index` when the call starts: a connection that still
    /// routes by an older config finds its upstream by name).
    public var name: String
    /// Where the group is in the config's upstream list (and the client's, which follows it).
    public var index: Int
    /// Appended to the endpoint's base URL. `/` by default.
    public var path: String
    /// The route says its command is idempotent: a timed-out call may be retried (if `retry.on`
    /// lists `timeout`).
    public var idempotent: Bool
    /// The group retries: the call carries `Idempotency-Key` (DESIGN §10), the first try too.
    public var retries: Bool

    /// A target; see the properties.
    public init(name: String, index: Int, path: String = "/", idempotent: Bool = false, retries: Bool = false) {
        self.name = name
        self.index = index
        self.path = path
        self.idempotent = idempotent
        self.retries = retries
    }
}
