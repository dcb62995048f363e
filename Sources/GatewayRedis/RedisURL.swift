public import GatewayIO

/// Where a Redis server is and how to log in: `redis://[user:password@]host[:port][/db]`.
///
/// The host is an IPv4 literal, a bracketed IPv6 literal (`[::1]`) or `localhost`, the forms
/// `SocketAddress` handles; host names are refused with `RedisURLError.hostNameNotSupported`.
/// The user and password may be percent-encoded (a password containing `@` or `/`).
/// `description` never shows the password.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// The port Redis listens on unless told otherwise (its documented default).
    public static let defaultPort: UInt16 = 6379

    /// The host as written in the URL (without IPv6 brackets).
    public var host: String
    /// The TCP port (`defaultPort` when the URL has none).
    public var port: UInt16
    /// The address to connect to.
    public var address: SocketAddress
    /// The ACL user for `AUTH user password` (Redis 6+); nil means `AUTH password` (the default user).
    public var user: String?
    /// The password for `AUTH`; nil means no `AUTH` is sent.
    public var password: String?
    /// The database selected with `SELECT` after connecting. 0 (Redis' own default) when the URL has
    /// no path, so no `SELECT` is sent for it.
    public var database: Int

    /// Parses `text`.
    /// - Throws: `RedisURLError` naming the part that is wrong.
    public init(parsing text: String) throws(RedisURLError) {
        let scheme = "redis://"
        guard text.hasPrefix(scheme) else {
            // Without Foundation: the scheme is what comes before the first "://".
            let chars = Array(text)
            var i = 0
            while i + 2 < chars.count {
                if chars[i] == ":" && chars[i + 1] == "/" && chars[i + 2] == "/" {
                    throw .unsupportedScheme(String(chars[..<i]))
                }
                i += 1
            }
            throw .unsupportedScheme(text)
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if rest.contains("?") || rest.contains("#") { throw .unsupportedQuery }

        // The last `@` ends the user part: a password may contain `/` or `:`, a host cannot contain `@`.
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                let u = try Self.percentDecoded(info[..<colon])
                user = u.isEmpty ? nil : u
                password = try Self.percentDecoded(info[info.index(after: colon)...])
            } else if !info.isEmpty {
                throw .userWithoutPassword
            }
        }

        let authority: Substring
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.allSatisfy({ $0.isASCII && $0.isNumber }), let db = Int32(path) else {
                    throw .invalidDatabase(String(path))
                }
                database = Int(db)
            }
        } else {
            authority = rest
        }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidHost(String(authority)) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidHost(String(authority)) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if host.isEmpty { throw .missingHost }

        var port = Self.defaultPort
        if let p = portText {
            guard p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt16(p), n > 0 else {
                throw .invalidPort(String(p))
            }
            port = n
        }

        let isV6 = host.contains(":")
        let isV4Shaped = host.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        if !isV6 && !isV4Shaped && host != "localhost" { throw .hostNameNotSupported(String(host)) }
        let literal = isV6 ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let address = SocketAddress(parsing: literal) else { throw .invalidHost(String(host)) }

        self.host = String(host)
        self.port = port
        self.address = address
        self.user = user
        self.password = password
        self.database = database
    }

    /// `redis://user:***@host:port/db`: the password is always masked, so the URL can be logged and
    /// shown by the admin API.
    public var description: String {
        var s = "redis://"
        if password != nil {
            s += (user ?? "") + ":***@"
        }
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)/\(database)"
        return s
    }

    private static func percentDecoded(_ s: Substring) throws(RedisURLError) -> String {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b != UInt8(ascii: "%") {
                out.append(b)
                continue
            }
            guard bytes.count >= 2, let hi = hexValue(bytes[bytes.startIndex]),
                  let lo = hexValue(bytes[bytes.startIndex + 1]) else { throw .invalidPercentEncoding }
            out.append(hi << 4 | lo)
            bytes = bytes.dropFirst(2)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
