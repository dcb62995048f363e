/// Counts of one loop's `BackendClient`, summed over loops for `/metrics`: which HTTP client
/// carried the calls, how DNS queries for backend host names ended, and how often a refused
/// connect moved calls to another address.
public struct BackendClientCounters: Sendable, Equatable {
    /// Calls carried by the gateway's own HTTP/1.1 client.
    public var nativeCalls = 0
    /// Calls carried by libcurl (https, `io.backendClient: curl`; proxy streams are not counted).
    public var curlCalls = 0
    /// DNS queries for backend host names that ended with an answer.
    public var dnsAnswered = 0
    /// DNS queries that ended with an error (unknown name, no server reachable, timeout).
    public var dnsFailed = 0
    /// Calls moved to another address of their host name (or to a new answer) after a refused
    /// connect, instead of failing.
    public var connectFailovers = 0

    /// Counters with the given values (zero by default).
    public init(nativeCalls: Int = 0, curlCalls: Int = 0, dnsAnswered: Int = 0, dnsFailed: Int = 0, connectFailovers: Int = 0) {
        self.nativeCalls = nativeCalls
        self.curlCalls = curlCalls
        self.dnsAnswered = dnsAnswered
        self.dnsFailed = dnsFailed
        self.connectFailovers = connectFailovers
    }

    /// Adds another loop's counts.
    public mutating func add(_ o: BackendClientCounters) {
        nativeCalls += o.nativeCalls
        curlCalls += o.curlCalls
        dnsAnswered += o.dnsAnswered
        dnsFailed += o.dnsFailed
        connectFailovers += o.connectFailovers
    }
}
