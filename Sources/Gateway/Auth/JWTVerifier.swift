#if canImport(Glibc)
internal import Glibc
#endif
internal import CGatewayShims
internal import GatewayHTTP1
internal import GatewayJSON
internal import GatewayWebSocket

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

    /// `verify(_:_:nowSeconds:scratch:)` for a token held as text, with a scratch of its own.
    static func verify(_ token: Substring, _ settings: JWTSettings, nowSeconds: Int) throws(JWTError) -> JWTClaims {
        var text = String(token)
        let scratch = JWTScratch()
        return try text.withUTF8 { utf8 in
            Result { () throws(JWTError) -> JWTClaims in
                try verify(UnsafeRawBufferPointer(utf8), settings, nowSeconds: nowSeconds, scratch: scratch)
            }
        }.get()
    }

    /// Checks `token` (its bytes, as it came) without Strings but for the `sub` and `rooms` it returns:
    /// the parts are found by their dots, decoded into `scratch.parts`, and read in place by the JSON
    /// scanner (the header's `alg`; the payload's `exp`, `nbf`, `iss`, `aud`, `sub`, `rooms`).
    static func verify(
        _ token: UnsafeRawBufferPointer, _ settings: JWTSettings, nowSeconds: Int, scratch: JWTScratch
    ) throws(JWTError) -> JWTClaims {
        guard token.count <= maxTokenBytes else { throw .tooLong(maxTokenBytes) }
        guard let firstDot = dot(in: token, from: 0), let secondDot = dot(in: token, from: firstDot + 1),
              dot(in: token, from: secondDot + 1) == nil
        else { throw .malformed("expected 3 parts, got \(token.count { $0 == UInt8(ascii: ".") } + 1)") }
        let headerPart = UnsafeRawBufferPointer(rebasing: token[..<firstDot])
        let payloadPart = UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
        let signaturePart = UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])
        let signingInput = UnsafeRawBufferPointer(rebasing: token[..<secondDot])

        // header | signature | payload | HMAC, one after the other in the scratch.
        var free = scratch.parts
        func decode(_ part: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
            guard let n = Base64.decodeURL(part, into: free) else { return nil }
            defer { free = UnsafeMutableRawBufferPointer(rebasing: free[n...]) }
            return UnsafeRawBufferPointer(rebasing: free[..<n])
        }
        guard let header = decode(headerPart) else { throw .malformed("header") }
        let alg = try algorithm(header, settings)
        guard let signature = decode(signaturePart) else { throw .malformed("signature") }
        if alg.isHMAC {
            guard let n = scratch.hmac(bits: alg.bits, key: settings.secret, data: signingInput, into: free),
                  n == signature.count, constantTimeEqual(UnsafeRawBufferPointer(rebasing: free[..<n]), signature)
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
        guard let payload = decode(payloadPart) else { throw .malformed("payload") }
        return try claims(payload, settings, nowSeconds: nowSeconds)
    }

    /// The index of the first `.` at or after `start` (memchr: tokens are a few hundred bytes).
    private static func dot(in token: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = token.baseAddress, start < token.count else { return nil }
        return memchr(base + start, Int32(UInt8(ascii: ".")), token.count - start).map { UnsafeRawPointer($0) - base }
    }

    /// The header's `alg`, when the module accepts it (the token never chooses how it is checked).
    private static func algorithm(_ header: UnsafeRawBufferPointer, _ settings: JWTSettings) throws(JWTError) -> JWTSettings.Algorithm {
        var alg: Range<Int>?
        let isObject = try? JSONObjectScanner.forEachMember(header, maxDepth: 16) { m in
            if alg == nil, m.named("alg", in: header) { alg = m.value }
        }
        guard isObject == true else { throw .malformed("header") }
        guard let alg, JSONObjectScanner.isString(header, alg) else { throw .malformed("header has no alg") }
        for a in settings.algorithms where rawString(header, alg, is: a.rawValue) { return a }
        // Escapes, or not one of the module's: by the decoded name, as the message needs it anyway.
        let name = JSONObjectScanner.string(header, alg) ?? ""
        guard let a = JWTSettings.Algorithm(rawValue: name), settings.algorithms.contains(a) else {
            throw .algorithmNotAllowed(name)
        }
        return a
    }

    /// The payload's claims, checked in the order the errors are documented: `exp`, `nbf`, `iss`,
    /// `aud`, then the types of `sub` and `rooms`. The first member of a name counts, as in a
    /// `JSONObject` lookup.
    private static func claims(_ p: UnsafeRawBufferPointer, _ settings: JWTSettings, nowSeconds: Int) throws(JWTError) -> JWTClaims {
        var exp, nbf, iss, aud, sub, rooms: Range<Int>?
        let isObject = try? JSONObjectScanner.forEachMember(p, maxDepth: 16) { m in
            if exp == nil, m.named("exp", in: p) { exp = m.value }
            if nbf == nil, m.named("nbf", in: p) { nbf = m.value }
            if iss == nil, m.named("iss", in: p) { iss = m.value }
            if aud == nil, m.named("aud", in: p) { aud = m.value }
            if sub == nil, m.named("sub", in: p) { sub = m.value }
            if rooms == nil, m.named("rooms", in: p) { rooms = m.value }
        }
        guard isObject == true else { throw .malformed("payload") }
        let leeway = settings.leewaySeconds
        func seconds(_ value: Range<Int>?, _ name: String) throws(JWTError) -> Int? {
            guard let value else { return nil }
            guard let d = JSONObjectScanner.double(p, value) else { throw .badClaim(name) }
            // Beyond ±2^53 s (285 million years) every answer is the same; Int(d) would trap past Int.
            return Int(min(max(d, -0x1p53), 0x1p53))
        }
        let expiresAt = try seconds(exp, "exp")
        if let expiresAt, nowSeconds > expiresAt + leeway { throw .expired }
        if let nbf = try seconds(nbf, "nbf"), nowSeconds + leeway < nbf { throw .notYetValid }
        if let issuer = settings.issuer, !string(p, iss, is: issuer) { throw .wrongIssuer }
        if let audience = settings.audience {
            var ok = string(p, aud, is: audience)
            if !ok, let aud {
                _ = JSONObjectScanner.forEachElement(p, aud) { e in ok = ok || string(p, e, is: audience) }
            }
            guard ok else { throw .wrongAudience }
        }
        var subject: String?
        if let sub {
            guard let s = JSONObjectScanner.string(p, sub) else { throw .badClaim("sub") }
            subject = s
        }
        var names: [String] = []
        if let rooms {
            var good = true
            let isArray = JSONObjectScanner.forEachElement(p, rooms) { e in
                guard good, let name = JSONObjectScanner.string(p, e), !name.isEmpty else { good = false; return }
                names.append(name)
            }
            guard isArray, good else { throw .badClaim("rooms") }
        }
        return JWTClaims(subject: subject, rooms: names, expiresAt: expiresAt, payload: Array(p))
    }

    /// Whether the value is a string equal to `expected` (as `String`'s `==` has it): by its bytes
    /// first, decoded only when they differ or have escapes.
    private static func string(_ p: UnsafeRawBufferPointer, _ value: Range<Int>?, is expected: String) -> Bool {
        guard let value, JSONObjectScanner.isString(p, value) else { return false }
        return rawString(p, value, is: expected) || JSONObjectScanner.string(p, value) == expected
    }

    /// Whether the value is a string without escapes whose bytes are `expected`'s UTF-8.
    private static func rawString(_ p: UnsafeRawBufferPointer, _ value: Range<Int>, is expected: String) -> Bool {
        expected.utf8.withContiguousStorageIfAvailable {
            JSONObjectScanner.rawString(p, value, equals: UnsafeRawBufferPointer($0))
        } ?? false
    }

    /// The token of a handshake: the first configured place that has one. `query` gives a
    /// parameter's value, percent-decoded (empty or undecodable ones count as absent); a header's
    /// value goes through `bearer(_:)`. `body` sees nil when there is none.
    static func withToken<R>(
        in settings: JWTSettings, header: (String) -> String?, query: (String) -> UnsafeRawBufferPointer?,
        _ body: (UnsafeRawBufferPointer?) -> R
    ) -> R {
        for source in settings.sources {
            switch source {
            case .header(let name):
                guard var value = header(name) else { continue }
                return value.withUTF8 { body(bearer(UnsafeRawBufferPointer($0))) }
            case .query(let name):
                if let value = query(name), !value.isEmpty { return body(value) }
            }
        }
        return body(nil)
    }

    /// A header's token: leading spaces dropped, then `Bearer ` (any case) and the spaces after it.
    static func bearer(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var i = 0
        while i < value.count && value[i] == UInt8(ascii: " ") { i += 1 }
        let scheme: StaticString = "bearer "
        let n = scheme.utf8CodeUnitCount
        if value.count - i >= n, HTTPHeaders.equalsIgnoringCase(
            UnsafeRawBufferPointer(rebasing: value[i..<(i + n)]), UnsafeRawBufferPointer(start: scheme.utf8Start, count: n)) {
            i += n
            while i < value.count && value[i] == UInt8(ascii: " ") { i += 1 }
        }
        return UnsafeRawBufferPointer(rebasing: value[i...])
    }

    // MARK: Pieces

    /// Equal without a timing that tells how many leading bytes matched.
    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    /// base64url without padding (RFC 7515 §2); padding is tolerated, anything else is nil.
    static func base64URLDecode(_ s: Substring) -> [UInt8]? {
        let input = Array(s.utf8)
        var out = [UInt8](repeating: 0, count: Base64.decodedCapacity(ofURL: input.count))
        let n = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { Base64.decodeURL(i, into: $0) } }
        return n.map { Array(out.prefix($0)) }
    }
}
