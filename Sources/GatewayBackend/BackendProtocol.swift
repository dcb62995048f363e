/// The HTTP version a backend call speaks (the `protocol` key of routes, `http[]` proxy routes and,
/// later, upstreams). HTTP/1.1 goes through the gateway's own client where it can; both HTTP/2 forms
/// always go through libcurl (nghttp2), which multiplexes many calls over few connections per loop.
public enum BackendProtocol: String, Sendable, Equatable, CaseIterable {
    /// HTTP/1.1, the default: every backend speaks it, and the native client carries it fastest.
    case http1
    /// HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3): the connection starts with the
    /// HTTP/2 preface, no `Upgrade` round trip. Only for `http://` URLs of backends that speak it.
    case h2c
    /// HTTP/2 over TLS, negotiated with ALPN. Only for `https://` URLs; a backend whose TLS offers
    /// only `http/1.1` is spoken to in HTTP/1.1 (libcurl's ALPN fallback).
    case h2

    /// Why `url` cannot be called with this protocol, or nil when it can: `h2c` is cleartext only and
    /// `h2` TLS only, so a mismatch is a config mistake rather than something to fall back from.
    /// - Parameter url: an absolute `http://` or `https://` URL (already validated).
    public func mismatch(url: String) -> String? {
        let https = url.utf8.count >= 8 && url.prefix(8).lowercased() == "https://"
        switch self {
        case .http1: return nil
        case .h2c where https: return "h2c is HTTP/2 over cleartext; an https:// URL needs \"h2\""
        case .h2 where !https: return "h2 is HTTP/2 over TLS; an http:// URL needs \"h2c\""
        default: return nil
        }
    }
}
