internal import GatewayIO
internal import GatewayHTTP1

/// A `ws://` or `http://` URL (or `wss://`, `https://`) reduced to what the load generator needs: the
/// address to connect to, the `Host` header, the request target and, for TLS, the client context.
/// Hosts must be IP addresses or `localhost`: the tool does no DNS (it targets loopback).
struct BenchURL: Sendable, CustomStringConvertible {
    /// Where to connect.
    let address: SocketAddress
    /// The `Host` header.
    let hostHeader: String
    /// `path?query`, at least `/`.
    let target: String
    /// The URL as given.
    let description: String
    /// TLS for `wss://` and `https://`, without certificate checks: the tool measures servers on
    /// loopback with self-signed test certificates, and verification would cost the same for every
    /// server compared. Every connection makes a full handshake (no session is reused).
    let tls: TLSClientContext?
    /// SNI: the host when it is a name (`localhost`), nil for an IP address (RFC 6066 §3).
    let serverName: String?

    /// Problems with a URL, phrased for the command line.
    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `text`, which must use `scheme` (`ws` or `http`) or its TLS form (`wss`, `https`). The
    /// default port is 80 (443 with TLS).
    init(_ text: String, scheme: String) throws(ParseError) {
        let url: HTTPURL
        do {
            url = try HTTPURL(text, schemes: [scheme, scheme + "s"])
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
        if url.scheme == scheme {
            tls = nil
            serverName = nil
        } else {
            do throws(TLSError) {
                tls = try TLSClientContext(verifyPeer: false)
            } catch {
                throw ParseError(description: "TLS: \(error)")
            }
            serverName = url.host.lowercased() == "localhost" ? "localhost" : nil
        }
    }
}
