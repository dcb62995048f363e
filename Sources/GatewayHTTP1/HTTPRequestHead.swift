/// An HTTP method. The common ones are cases so a `switch` stays cheap; anything else is `.other`.
public enum HTTPMethod: Sendable, Equatable, Hashable, CustomStringConvertible {
    case GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS
    /// A method token that is not one of the above (e.g. `CONNECT`, `PROPFIND`).
    case other(String)

    /// Parses a method token (case-sensitive, RFC 9110 §9.1).
    public init(token: String) {
        switch token {
        case "GET": self = .GET
        case "HEAD": self = .HEAD
        case "POST": self = .POST
        case "PUT": self = .PUT
        case "DELETE": self = .DELETE
        case "PATCH": self = .PATCH
        case "OPTIONS": self = .OPTIONS
        default: self = .other(token)
        }
    }

    /// The method token.
    public var description: String {
        switch self {
        case .GET: "GET"
        case .HEAD: "HEAD"
        case .POST: "POST"
        case .PUT: "PUT"
        case .DELETE: "DELETE"
        case .PATCH: "PATCH"
        case .OPTIONS: "OPTIONS"
        case .other(let token): token
        }
    }
}

/// An HTTP version such as 1.1.
public struct HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Major version.
    public var major: Int
    /// Minor version.
    public var minor: Int

    /// Creates a version.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)

    /// `HTTP/1.1` and so on.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// The request line and header fields of one HTTP/1.x request.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The request method.
    public var method: HTTPMethod
    /// The request-target exactly as received (origin-form `/path?query` in practice).
    public var target: String
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields.
    public var headers: HTTPHeaders

    /// Creates a head.
    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The target in origin form: for an absolute-form target (`http://host/a?b`, RFC 9112 §3.2.2)
    /// the part from the path on (`/a?b`), `/` when it has no path; otherwise the target itself.
    ///
    /// These three search bytes (`utf8`), not `Character`s: every search is for an ASCII byte, and the
    /// `Character` view's grapheme breaking made `path` cost ~2,300 instructions per read, three reads
    /// per WebSocket handshake (callgrind, S5).
    public var originForm: Substring {
        if target.utf8.first == UInt8(ascii: "/") { return target[...] }
        guard let colon = target.utf8.firstIndex(of: UInt8(ascii: ":")),
              target[colon...].hasPrefix("://") else { return target[...] }
        let rest = target[target.index(colon, offsetBy: 3)...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        return rest[slash] == "?" ? "/" + rest[slash...] : rest[slash...]
    }

    /// The path part of the target (before `?`), not percent-decoded. Absolute-form targets are
    /// reduced to their path.
    public var path: Substring {
        let t = originForm
        if let q = Self.firstIndex(of: UInt8(ascii: "?"), in: t) { return t[..<q] }
        return t
    }

    /// The query part of the target (after `?`), or an empty string.
    public var query: Substring {
        let t = originForm
        if let q = Self.firstIndex(of: UInt8(ascii: "?"), in: t) { return t[t.utf8.index(after: q)...] }
        return ""
    }

    /// The index of the first `byte` in `text`, searched in its contiguous UTF-8 (the generic
    /// `utf8.firstIndex` cost ~600 instructions for a short target).
    static func firstIndex(of byte: UInt8, in text: Substring) -> String.Index? {
        let offset = text.utf8.withContiguousStorageIfAvailable { $0.firstIndex(of: byte) }
        switch offset {
        case .some(.some(let o)): return text.utf8.index(text.startIndex, offsetBy: o)
        case .some(.none): return nil
        case .none: return text.utf8.firstIndex(of: byte)
        }
    }

    /// Whether the connection stays open after this request: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive` (RFC 9112 §9.3).
    public var isKeepAlive: Bool {
        if headers.contains(name: "connection", token: "close") { return false }
        if version.major == 1 && version.minor == 0 {
            return headers.contains(name: "connection", token: "keep-alive")
        }
        return true
    }
}
