/// Something that connects to the addresses of a host name (an `OriginPool`) and hears from the
/// `DNSResolver` when the name's answer was renewed, changed or failed.
protocol DNSResolverClient: AnyObject {
    /// A query for `name` ended: with an answer (new or the same), or with `failure` (c-ares's
    /// reason; the cache may still hold the previous answer if its TTL has not run out). Called from
    /// a timer of the loop, never from inside a resolver method the client called: serve or fail
    /// the calls waiting for an address, and retire connections to addresses no longer listed.
    func dnsAnswerChanged(_ name: String, failure: String?)
    /// Whether the client still uses the name (open connections or waiting calls). Names in use are
    /// refreshed before their TTL runs out; the others are left to expire.
    var usesName: Bool { get }
}
