internal import GatewayIO
internal import GatewayHTTP1

/// Where a plain-http backend URL points, parsed once per URL: the origin's address, the request
/// target and the Host header. Only `http://` URLs whose host is an IP address (or `localhost`) are
/// served natively; anything that needs DNS, TLS or a proxy goes through libcurl.
struct NativeTarget {
    let address: SocketAddress
    let hostHeader: String
    /// Path and query, as sent in the request line (`/` when the URL has no path).
    let target: String

    /// Nil when `url` is not `http://` to an IP literal or `localhost`.
    init?(url: String) {
        guard let parsed = try? HTTPURL(url, schemes: ["http"]),
            let address = SocketAddress(parsing: parsed.hostAndPort)  // nil: not an IP literal
        else { return nil }
        self.address = address
        self.hostHeader = parsed.hostHeader
        self.target = parsed.target
    }
}
