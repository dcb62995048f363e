/// `modules[].auth.jwt` (DESIGN §9, token auth at connect): how the gateway checks a token itself,
/// so that an authenticated handshake needs no hook round trip.
public struct JWTSettings: Sendable, Equatable {
    /// A signing algorithm this release verifies.
    public enum Algorithm: String, Sendable, CaseIterable {
        case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
        case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
        case es256 = "ES256", es384 = "ES384"

        /// The SHA-2 size.
        var bits: Int {
            switch self {
            case .hs256, .rs256, .es256: 256
            case .hs384, .rs384, .es384: 384
            case .hs512, .rs512: 512
            }
        }

        /// HMAC with `secret` (else a signature by one of `publicKeys`).
        var isHMAC: Bool { [.hs256, .hs384, .hs512].contains(self) }
    }

    /// Where a token is looked for, in order: a header (`Bearer ` stripped when present) or a query
    /// parameter of the handshake request.
    public enum Source: Sendable, Equatable {
        case header(String)
        case query(String)
    }

    /// The algorithms accepted; a token whose header names another (`none` included) is refused,
    /// so a token cannot choose how it is checked.
    public var algorithms: [Algorithm]
    /// The HMAC secret (bytes of the string as given, usually `${JWT_SECRET}`).
    public var secret: [UInt8]
    /// The keys RS*/ES* tokens are checked against (`publicKeys`, a PEM file); a token is good when
    /// one key of the algorithm's type verifies it.
    var publicKeys: [JWTPublicKey] = []
    /// Required `iss`, when set.
    public var issuer: String?
    /// Required in `aud` (a string or an array of strings), when set.
    public var audience: String?
    /// Clock skew allowed on `exp` and `nbf`: 30 s by default, enough for NTP-synced hosts and no
    /// more, so an expired token is refused within half a minute.
    public var leewaySeconds: Int
    /// Where the token comes from: `Authorization: Bearer …` first, then `?token=` (a browser's
    /// WebSocket cannot set headers).
    public var sources: [Source]

    public static let defaultSources: [Source] = [.header("authorization"), .query("token")]

    public init(algorithms: [Algorithm], secret: [UInt8], issuer: String? = nil, audience: String? = nil,
                leewaySeconds: Int = 30, sources: [Source] = JWTSettings.defaultSources) {
        self.algorithms = algorithms
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.leewaySeconds = leewaySeconds
        self.sources = sources
    }
}
