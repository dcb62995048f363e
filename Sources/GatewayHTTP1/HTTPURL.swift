/// An absolute URL of the form the gateway calls and is called at, `scheme://host[:port][/path][?query]`,
/// split once into what a client needs: where to connect, the `Host` header, and the request
/// target. The one URL parser of the project: the config validates backend URLs with it, the native
/// backend client takes its targets from it, and the load generator its endpoints.
///
/// Deliberately narrower than RFC 3986: no user information (`user@host`, which would put
/// credentials in logs), no byte that is a control character or a space anywhere (a URL in
/// `gateway.json` with either is a typo, and libcurl would otherwise see a different URL than the
/// validation did), a port of 1–65535. A fragment is dropped, as a client never sends it.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    /// The scheme, lowercased (`http`, `https`, `ws`, `wss`, …).
    public let scheme: String
    /// The host as written, without the brackets of an IPv6 literal.
    public let host: String
    /// The port: the one written, or the scheme's default (`defaultPort(for:)`).
    public let port: Int
    /// The `Host` header value: the host (bracketed when IPv6), with `:port` unless it is the default.
    public let hostHeader: String
    /// Path and query as sent in a request line: at least `/`.
    public let target: String
    /// The URL as given.
    public let description: String

    /// Why a string is not such a URL, phrased for a config error or the command line.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, naming the URL.
        public let description: String
    }

    /// The port a scheme implies when none is written: 80 for `http`/`ws`, 443 for `https`/`wss`.
    public static func defaultPort(for scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": 80
        case "https", "wss": 443
        default: nil
        }
    }

    /// Parses `text`, whose scheme must be one of `schemes` (lowercase; compared case-insensitively).
    public init(_ text: String, schemes: [String]) throws(ParseError) {
        func failure(_ why: String) -> ParseError { ParseError(description: "\(why): \"\(text)\"") }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw failure("not an absolute URL")
        }
        let scheme = text[..<colon].lowercased()
        guard schemes.contains(scheme), let defaultPort = Self.defaultPort(for: scheme) else {
            throw failure("the scheme must be \(schemes.joined(separator: " or "))")
        }
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw failure("a URL holds no spaces or control characters")
        }
        let rest = text[text.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex(where: { (c: Character) -> Bool in c == "/" || c == "?" || c == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty else { throw failure("no host") }
        guard !authority.contains("@") else { throw failure("user information is not supported") }

        var host = authority
        var portText: Substring?
        let bracketed = authority.hasPrefix("[")
        if bracketed {
            guard let close = authority.firstIndex(of: "]") else { throw failure("unclosed IPv6 literal") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("junk after the IPv6 literal") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw failure("no host") }
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let n = Int(portText), n > 0, n < 65536
            else { throw failure("the port must be 1–65535") }
            port = n
        }

        var tail = rest[authorityEnd...]
        if let hash = tail.firstIndex(of: "#") { tail = tail[..<hash] }
        let hostName = bracketed ? "[\(host)]" : String(host)
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.hostHeader = port == defaultPort ? hostName : "\(hostName):\(port)"
        self.target = tail.hasPrefix("/") ? String(tail) : "/" + tail
        self.description = text
    }

    /// `host:port` (`[host]:port` for IPv6), the form socket-address parsers take.
    public var hostAndPort: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
