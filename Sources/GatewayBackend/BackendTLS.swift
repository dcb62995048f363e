/// TLS settings for `https://` backends (libcurl). Without them libcurl verifies backends against the
/// system's CA store and presents no client certificate, which is right for public services; a
/// private CA (a cluster's internal certificates) or mutual TLS needs these.
public struct BackendTLS: Sendable, Equatable {
    /// PEM file of the CAs that sign backend certificates, used instead of the system store.
    public var caFile: String?
    /// PEM client certificate presented to backends that ask for one (mutual TLS).
    public var certificate: String?
    /// PEM key of `certificate`.
    public var key: String?

    /// Creates the settings; nil fields keep libcurl's defaults.
    public init(caFile: String? = nil, certificate: String? = nil, key: String? = nil) {
        self.caFile = caFile
        self.certificate = certificate
        self.key = key
    }
}
