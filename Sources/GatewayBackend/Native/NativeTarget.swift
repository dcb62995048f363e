internal import GatewayIO

/// Where a plain-http backend URL points, parsed once per URL: the origin's address, the request
/// target and the Host header. Only `http://` URLs whose host is an IP address (or `localhost`) are
/// served natively; anything that needs DNS, TLS or a proxy goes through libcurl.
struct NativeTarget {
    let address: SocketAddress
    let hostHeader: String
    /// Path and query, as sent in the request line (`/` when the URL has no path).
    let target: String

    init?(url: String) {
        guard url.utf8.count > 7, url.lowercased().hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var tail = rest[authorityEnd...]
        if let hash = tail.firstIndex(of: "#") { tail = tail[..<hash] }
        var hostPart = authority
        var port: UInt16 = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { guard let p = UInt16(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        }
        let host = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        let literal = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let address = SocketAddress(parsing: literal) else { return nil }  // not an IP literal
        self.address = address
        self.hostHeader = port == 80 ? String(authority.split(separator: ":").first ?? authority) : String(authority)
        if tail.isEmpty {
            self.target = "/"
        } else if tail.hasPrefix("?") {
            self.target = "/" + tail
        } else {
            self.target = String(tail)
        }
    }
}
