internal import CGatewayShims
internal import GatewayJSON

/// What a verified token says about the connection.
struct JWTClaims: Sendable, Equatable {
    /// `sub`: the user, as `Gateway-Set-User` would set it.
    var subject: String?
    /// The `rooms` claim: rooms to join.
    var rooms: [String]
    /// `exp` in Unix seconds: the connection is closed with 4001 `token expired` then.
    var expiresAt: Int?
    /// The payload's JSON as the token carried it (checked to be one JSON object), for the hook.
    var payload: [UInt8] = []
}

/// Checks a compact JWS (`header.payload.signature`, base64url) against a module's `JWTSettings`:
/// the algorithm must be one the module accepts (the token never chooses: `none` and algorithm
/// confusion are refused before any signature work), the HMAC must match (compared in constant
/// time), then `exp`, `nbf` (with the leeway), `iss` and `aud`.
enum JWTVerifier {
    /// Longer tokens are refused before any decoding: real ones are a few hundred bytes, and this
    /// bounds the work a stranger can ask for.
    static let maxTokenBytes = 8_192

    static func verify(_ token: Substring, _ settings: JWTSettings, nowSeconds: Int) throws(JWTError) -> JWTClaims {
        guard token.utf8.count <= maxTokenBytes else { throw .tooLong(maxTokenBytes) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected 3 parts, got \(parts.count)") }
        guard let headerBytes = base64URLDecode(parts[0]), let header = json(headerBytes) else { throw .malformed("header") }
        guard let algName = header["alg"]?.stringValue else { throw .malformed("header has no alg") }
        guard let alg = JWTSettings.Algorithm(rawValue: algName), settings.algorithms.contains(alg) else {
            throw .algorithmNotAllowed(algName)
        }
        guard let signature = base64URLDecode(parts[2]) else { throw .malformed("signature") }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        if alg.isHMAC {
            guard let expected = hmac(alg, key: settings.secret, data: signingInput),
                expected.count == signature.count, constantTimeEqual(expected, signature)
            else { throw .badSignature }
        } else {
            let wanted: JWTPublicKey.Kind = switch alg {
            case .es256: .ec(bits: 256)
            case .es384: .ec(bits: 384)
            default: .rsa
            }
            guard settings.publicKeys.contains(where: { $0.kind == wanted && $0.verifies(signature, of: signingInput, bits: alg.bits) })
            else { throw .badSignature }
        }
        guard let payloadBytes = base64URLDecode(parts[1]), let payload = json(payloadBytes), payload.objectValue != nil else {
            throw .malformed("payload")
        }
        let leeway = settings.leewaySeconds
        func seconds(_ name: String) throws(JWTError) -> Int? {
            guard let v = payload[name] else { return nil }
            guard let d = v.doubleValue else { throw .badClaim(name) }
            return Int(d)
        }
        let exp = try seconds("exp")
        if let exp, nowSeconds > exp + leeway { throw .expired }
        if let nbf = try seconds("nbf"), nowSeconds + leeway < nbf { throw .notYetValid }
        if let issuer = settings.issuer, payload["iss"]?.stringValue != issuer { throw .wrongIssuer }
        if let audience = settings.audience {
            let aud = payload["aud"]
            let ok = aud?.stringValue == audience || (aud?.arrayValue?.contains { $0.stringValue == audience } ?? false)
            guard ok else { throw .wrongAudience }
        }
        var subject: String?
        if let s = payload["sub"] {
            guard let str = s.stringValue else { throw .badClaim("sub") }
            subject = str
        }
        var rooms: [String] = []
        if let r = payload["rooms"] {
            guard let items = r.arrayValue else { throw .badClaim("rooms") }
            for item in items {
                guard let name = item.stringValue, !name.isEmpty else { throw .badClaim("rooms") }
                rooms.append(name)
            }
        }
        return JWTClaims(subject: subject, rooms: rooms, expiresAt: exp, payload: payloadBytes)
    }

    /// The token of a handshake: the first configured place that has one.
    static func token(in settings: JWTSettings, header: (String) -> String?, query: (String) -> String?) -> Substring? {
        for source in settings.sources {
            switch source {
            case .header(let name):
                guard let v = header(name) else { continue }
                let value = Substring(v).drop { $0 == " " }
                if value.lowercased().hasPrefix("bearer ") { return value.dropFirst(7).drop { $0 == " " } }
                return value
            case .query(let name):
                if let v = query(name), !v.isEmpty { return Substring(v) }
            }
        }
        return nil
    }

    // MARK: Pieces

    static func hmac(_ alg: JWTSettings.Algorithm, key: [UInt8], data: [UInt8]) -> [UInt8]? {
        let md: OpaquePointer? = switch alg.bits {
        case 256: EVP_sha256()
        case 384: EVP_sha384()
        default: EVP_sha512()
        }
        guard let md else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(md, k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count,
                         o.baseAddress, &length) != nil
                }
            }
        }
        return ok ? Array(out.prefix(Int(length))) : nil
    }

    /// Equal without a timing that tells how many leading bytes matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    /// base64url without padding (RFC 7515 §2); padding is tolerated, anything else is nil.
    static func base64URLDecode(_ s: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - 65
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - 71
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c + 4
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return bits >= 6 ? nil : out
    }

    private static func json(_ bytes: [UInt8]) -> JSONValue? {
        let v = bytes.withUnsafeBytes { raw -> JSONValue? in
            do throws(JSONError) { return try JSONValue.parse(raw, maxDepth: 16) } catch { return nil }
        }
        return v?.objectValue != nil ? v : nil
    }
}
