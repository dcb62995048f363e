internal import GatewayIO
internal import GatewayHTTP1

/// Where a plain-http backend URL points, parsed once per URL: the origin (an IP address, or a host
/// name the loop's `DNSResolver` resolves), the request target and the Host header. Every `http://`
/// URL is served natively; `https://` (and streaming, and `io.backendClient: curl`) go through
/// libcurl.
///
/// A class, made once per URL and cached by the transport: each call carries it through the pool's
/// queues and the connection's in-flight list, and a reference costs one retain per copy where a
/// struct holding an enum and two strings cost outlined value-witness copies (about 1,500
/// instructions per call, measured with callgrind on S1).
final class NativeTarget {
    /// What the URL's host is.
    enum Origin {
        /// An IP literal (or `localhost`): connect there.
        case address(SocketAddress)
        /// A host name, resolved through the loop's DNS cache when a connection is opened.
        case name(String, port: UInt16)
    }

    let origin: Origin
    let hostHeader: String
    /// Path and query, as sent in the request line (`/` when the URL has no path).
    let target: String

    /// Nil when `url` is not `http://`, or its host is a malformed IPv6 literal.
    init?(url: String) {
        guard let parsed = try? HTTPURL(url, schemes: ["http"]) else { return nil }
        if let address = SocketAddress(parsing: parsed.hostAndPort) {
            origin = .address(address)
        } else {
            guard !parsed.host.contains(":"), let port = UInt16(exactly: parsed.port) else { return nil }
            origin = .name(parsed.host, port: port)
        }
        self.hostHeader = parsed.hostHeader
        self.target = parsed.target
    }
}
