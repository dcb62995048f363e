/// Why a `redis://` URL was rejected. Each case names the part that is wrong; none carries the
/// password, so the error can be logged as it is.
public enum RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL does not start with `redis://` (the scheme found, or the whole text when there is none).
    /// `rediss://` (TLS) is refused here too: the client has no TLS yet.
    case unsupportedScheme(String)
    /// Nothing between `redis://` (or the `@`) and the port or path.
    case missingHost
    /// The host is a name, not an IP literal or `localhost`: the client does not resolve names yet
    /// (the event loop has no asynchronous resolver, and a blocking one would stall every connection
    /// of the loop).
    case hostNameNotSupported(String)
    /// The host is an IP literal that does not parse (e.g. `[::1` or `300.1.1.1`).
    case invalidHost(String)
    /// The port is not a number from 1 to 65535.
    case invalidPort(String)
    /// The path is not `/` followed by a database number from 0 to 2^31-1.
    case invalidDatabase(String)
    /// The user part has a user name but no password (`redis://user@host`): `AUTH` needs a password.
    case userWithoutPassword
    /// A `%` in the user or password is not followed by two hex digits.
    case invalidPercentEncoding
    /// A query (`?…`) or fragment (`#…`): no option is supported there yet, and ignoring one silently
    /// would hide a typo.
    case unsupportedQuery

    /// One line naming what is wrong and what form is expected.
    public var description: String {
        let form = "expected redis://[user:password@]host[:port][/db]"
        switch self {
        case .unsupportedScheme(let s): return "unsupported scheme \"\(s)\" (\(form); TLS is not supported)"
        case .missingHost: return "the URL has no host (\(form))"
        case .hostNameNotSupported(let h): return "host \"\(h)\" is a name: use an IP address or localhost (names are not resolved yet)"
        case .invalidHost(let h): return "host \"\(h)\" is not a valid IP address"
        case .invalidPort(let p): return "port \"\(p)\" is not a number from 1 to 65535"
        case .invalidDatabase(let d): return "database \"\(d)\" is not a number from 0 to 2147483647"
        case .userWithoutPassword: return "a user name needs a password (redis://user:password@host)"
        case .invalidPercentEncoding: return "the user or password has a % not followed by two hex digits"
        case .unsupportedQuery: return "query parameters and fragments are not supported (\(form))"
        }
    }
}
