internal import GatewayIO

/// A `ws://` or `http://` URL reduced to what the load generator needs: the address to connect to,
/// the `Host` header and the request target. Hosts must be IP addresses or `localhost`: the tool
/// does no DNS (it targets loopback), and TLS (`wss://`, `https://`) is not supported.
struct BenchURL: Sendable, CustomStringConvertible {
    /// Where to connect.
    let address: SocketAddress
    /// `host:port` as written, for the `Host` header.
    let hostHeader: String
    /// `path?query`, at least `/`.
    let target: String
    /// The URL as given.
    let description: String

    /// Problems with a URL, phrased for the command line.
    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `text`, which must use `scheme` (`ws` or `http`). The default port is 80.
    init(_ text: String, scheme: String) throws(ParseError) {
        let prefix = scheme + "://"
        guard text.lowercased().hasPrefix(prefix) else {
            throw ParseError(description: "URL must start with \(prefix): \(text)")
        }
        let rest = text.dropFirst(prefix.count)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = String(rest[..<end])
        guard !authority.isEmpty, !authority.contains("@") else {
            throw ParseError(description: "bad host in URL \(text)")
        }
        var hostPort = authority
        let hasPort: Bool
        if authority.hasPrefix("[") {
            hasPort = authority.contains("]:")
        } else {
            hasPort = authority.contains(":")
        }
        if !hasPort { hostPort += ":80" }
        guard let address = SocketAddress(parsing: hostPort) else {
            throw ParseError(description: "host in \(text) must be an IP address or localhost (no DNS), with a numeric port")
        }
        self.address = address
        hostHeader = authority
        let path = rest[end...]
        target = path.hasPrefix("/") ? String(path) : "/" + path
        description = text
    }
}
