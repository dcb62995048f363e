/// How backend host names are resolved (`io.dns`): where c-ares sends its queries, which files it
/// reads, and how long answers are kept. Read when the gateway starts; a restart applies a change.
public struct DNSSettings: Sendable, Equatable {
    /// Name servers as `ip:port` (`[v6]:port` for IPv6), asked in order. Empty (the default): the
    /// `nameserver` lines of `resolvConf`, as the system resolver would.
    public var servers: [String] = []
    /// The resolv.conf to read `nameserver`, `search`, `domain` and `options ndots:` from. Nil: the
    /// system's `/etc/resolv.conf`, so names resolve as they do for every other program on the host.
    public var resolvConf: String? = nil
    /// A hosts file read instead of `/etc/hosts`. Nil: `/etc/hosts`. c-ares 1.18 has no option for
    /// this; the gateway sets `CARES_HOSTS` for the process at start (`DNSResolver.prepareProcess`)
    /// and asks c-ares to honour it (`ARES_AI_ENVHOSTS`).
    public var hostsFile: String? = nil
    /// Shortest time an answer is kept, whatever its TTL. 1 s: a TTL of 0 (common for names from a
    /// hosts file, and some service discovery servers) would otherwise mean a query per new
    /// connection; one second keeps the query rate per name at one per second per loop at most while
    /// still following a change almost at once.
    public var minTtlSeconds = 1
    /// Longest time an answer is kept, whatever its TTL. 300 s: long TTLs (hours, on names that
    /// rarely change) would keep the gateway on a moved backend long after the operator changed the
    /// record; five minutes bounds that and costs a query per name every few minutes.
    public var maxTtlSeconds = 300

    /// The defaults above.
    public init() {}
}
