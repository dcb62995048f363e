internal import GatewayJSON
internal import GatewayBackend

extension ConfigDecoder {
    /// A `protocol` key (`http1` | `h2c` | `h2`) at `p`, checked against the URLs its calls go to:
    /// `h2c` needs `http://` and `h2` needs `https://` (a mismatch is an error, never a silent
    /// fallback). One function for every place that has the key (routes, `http[]` proxy routes,
    /// upstreams), so they accept the same values with the same messages.
    /// - Parameter urls: the URLs the calls go to (a route's `url`, an upstream's endpoints); empty
    ///   when unknown or already reported as bad.
    /// - Returns: the protocol, or nil with the problem recorded.
    mutating func backendProtocol(_ v: JSONValue, _ p: String, urls: [String]) -> BackendProtocol? {
        guard let s = string(v, p) else { return nil }
        guard let proto = BackendProtocol(rawValue: s) else {
            fail(p, "must be http1, h2c (HTTP/2 over cleartext, prior knowledge) or h2 (HTTP/2 over TLS), got \"\(s)\"")
            return nil
        }
        for u in urls {
            if let why = proto.mismatch(url: u) {
                fail(p, "\(why) (\(u))")
                return nil
            }
        }
        return proto
    }
}
