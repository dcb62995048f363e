/// Why a token was refused at connect. Every case answers the handshake with 401 and no upgrade;
/// the description goes into the body (it says what was wrong, never the secret).
public enum JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No token in any configured place.
    case missing
    /// Not three base64url parts, or a part that does not decode to a JSON object.
    case malformed(String)
    /// The header's `alg` is not one the module accepts (`none` included).
    case algorithmNotAllowed(String)
    /// The signature does not match.
    case badSignature
    /// `exp` is past (beyond the leeway).
    case expired
    /// `nbf` is in the future (beyond the leeway).
    case notYetValid
    /// `iss` is not the configured issuer.
    case wrongIssuer
    /// `aud` does not contain the configured audience.
    case wrongAudience
    /// A claim has the wrong type (`exp` not a number, `sub` not a string, `rooms` not strings).
    case badClaim(String)
    /// Longer than the module accepts.
    case tooLong(Int)

    public var description: String {
        switch self {
        case .missing: "token missing"
        case .malformed(let why): "token malformed: \(why)"
        case .algorithmNotAllowed(let alg): "token algorithm \"\(alg)\" not allowed"
        case .badSignature: "token signature invalid"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .wrongIssuer: "token issuer not accepted"
        case .wrongAudience: "token audience not accepted"
        case .badClaim(let name): "token claim \"\(name)\" has the wrong type"
        case .tooLong(let n): "token longer than \(n) bytes"
        }
    }
}
