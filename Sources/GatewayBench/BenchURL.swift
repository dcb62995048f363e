internal import GatewayIO
internal import GatewayHTTP1

/// A `ws://` or `http://` URL reduced to what the load generator needs: the address to connect to,
/// the `Host` header and the request target. Hosts must be IP addresses or `localhost`: the tool
/// does no DNS (it targets loopback), and TLS (`wss://`, `https://`) is not supported.
struct BenchURL: Sendable, CustomStringConvertible {
    /// Where to connect.
    let address: SocketAddress
    /// The `Host` header.
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
        let url: HTTPURL
        do {
            url = try HTTPURL(text, schemes: [scheme])
        } catch {
            throw ParseError(description: error.description)
        }
        guard let address = SocketAddress(parsing: url.hostAndPort) else {
            throw ParseError(description: "host in \(text) must be an IP address or localhost (no DNS), with a numeric port")
        }
        self.address = address
        hostHeader = url.hostHeader
        target = url.target
        description = text
    }
}
