@testable import Gateway
import GatewayHTTP1
import Testing

@Suite("JWTVerifier")
struct JWTVerifierTests {
    /// RFC 7515 appendix A.1: an HS256 JWS with its key, computed by others.
    static let rfcToken: Substring =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let rfcKey = JWTVerifier.base64URLDecode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")!

    func settings(_ algs: [JWTSettings.Algorithm] = [.hs256], issuer: String? = nil, audience: String? = nil) -> JWTSettings {
        JWTSettings(algorithms: algs, secret: Self.rfcKey, issuer: issuer, audience: audience, leewaySeconds: 30)
    }

    @Test("RFC 7515 A.1 verifies, with its exp and iss")
    func rfcVector() throws {
        let claims = try JWTVerifier.verify(Self.rfcToken, settings(issuer: "joe"), nowSeconds: 1_300_819_000)
        #expect(claims.subject == nil && claims.rooms.isEmpty && claims.expiresAt == 1_300_819_380)
        #expect(String(decoding: claims.payload, as: UTF8.self).hasPrefix("{\"iss\":\"joe\""))
    }

    @Test("each rule refuses with its own reason")
    func refusals() {
        func reason(_ token: Substring, _ s: JWTSettings, now: Int = 1_300_819_000) -> JWTError? {
            do throws(JWTError) {
                _ = try JWTVerifier.verify(token, s, nowSeconds: now)
                return nil
            } catch {
                return error
            }
        }
        #expect(reason(Self.rfcToken, settings([.hs512])) == .algorithmNotAllowed("HS256"))
        #expect(reason(Self.rfcToken, settings(), now: 1_300_819_380 + 31) == .expired)
        #expect(reason(Self.rfcToken, settings(), now: 1_300_819_380 + 30) == nil, "within the leeway")
        #expect(reason(Self.rfcToken, settings(issuer: "ann")) == .wrongIssuer)
        #expect(reason(Self.rfcToken, settings(audience: "chat")) == .wrongAudience)
        var tampered = String(Self.rfcToken)
        tampered.removeLast()
        tampered.append("Y")
        #expect(reason(Substring(tampered), settings()) == .badSignature)
        #expect(reason("a.b", settings()) == .malformed("expected 3 parts, got 2"))
        #expect(reason("!!.e30.e30", settings()) == .malformed("header"))
        #expect(reason(Substring(String(repeating: "a", count: 9_000)), settings()) == .tooLong(8_192))
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."   // {"alg":"none"}.{"sub":"x"}.
        #expect(reason(Substring(none), settings()) == .algorithmNotAllowed("none"))
    }

    @Test("base64url decodes with or without padding and refuses other characters")
    func base64url() {
        #expect(JWTVerifier.base64URLDecode("e30") == Array("{}".utf8))
        #expect(JWTVerifier.base64URLDecode("e30=") == Array("{}".utf8))
        #expect(JWTVerifier.base64URLDecode("-_8") == [0xFB, 0xFF])
        #expect(JWTVerifier.base64URLDecode("a+b/") == nil)
        #expect(JWTVerifier.base64URLDecode("a") == nil, "a single character carries no whole byte")
    }

    /// The token `JWTVerifier.withToken` finds, with the query `query` read by `QueryString`.
    func token(in s: JWTSettings, header: (String) -> String?, query: String) -> String? {
        let q = Array(query.utf8)
        var out = [UInt8](repeating: 0, count: q.count)
        return q.withUnsafeBytes { raw in
            out.withUnsafeMutableBytes { o in
                JWTVerifier.withToken(in: s, header: header, query: { QueryString.firstValue(named: $0, in: raw, into: o) }) {
                    $0.map { String(decoding: $0, as: UTF8.self) }
                }
            }
        }
    }

    @Test("the token comes from the first configured place that has one")
    func sources() {
        let s = JWTSettings(algorithms: [.hs256], secret: [], sources: [.header("authorization"), .query("token")])
        #expect(token(in: s, header: { $0 == "authorization" ? "Bearer  abc" : nil }, query: "token=q") == "abc")
        #expect(token(in: s, header: { _ in nil }, query: "token=q") == "q")
        #expect(token(in: s, header: { _ in nil }, query: "other=q") == nil)
        let queryFirst = JWTSettings(algorithms: [.hs256], secret: [], sources: [.query("t"), .header("x-token")])
        #expect(token(in: queryFirst, header: { $0 == "x-token" ? "h" : nil }, query: "t=q") == "q")
        #expect(token(in: queryFirst, header: { $0 == "x-token" ? "h" : nil }, query: "t=") == "h")
    }

    @Test("a header's token: leading spaces and Bearer (any case) dropped")
    func bearer() {
        func strip(_ v: String) -> String {
            var v = v
            return v.withUTF8 { String(decoding: JWTVerifier.bearer(UnsafeRawBufferPointer($0)), as: UTF8.self) }
        }
        #expect(strip("Bearer abc") == "abc")
        #expect(strip("  bEARER   abc") == "abc")
        #expect(strip("Bearerabc") == "Bearerabc")
        #expect(strip("Basic abc") == "Basic abc")
        #expect(strip("abc") == "abc")
        #expect(strip("Bearer ") == "")
        #expect(strip("") == "")
    }

    @Test("the query of an origin-form or absolute-form target")
    func query() {
        func q(_ target: String) -> String {
            HTTPConnection.withQuery(of: HTTPRequestHead(method: .GET, target: target)) { String(decoding: $0, as: UTF8.self) }
        }
        #expect(q("/c?token=x&a=1") == "token=x&a=1")
        #expect(q("/c") == "" && q("/c?") == "")
        #expect(q("/c?a=1?b") == "a=1?b")
        #expect(q("http://host/c?token=y") == "token=y")
        #expect(q("http://host?token=z") == "token=z")
    }

    /// An HS256 token over `payload` signed with the RFC key.
    func sign(_ payload: String, header: String = #"{"alg":"HS256"}"#) -> Substring {
        func b64(_ bytes: [UInt8]) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                let chunk = Array(bytes[i..<min(i + 3, bytes.count)]) + [0, 0]
                let g = UInt32(chunk[0]) << 16 | UInt32(chunk[1]) << 8 | UInt32(chunk[2])
                for k in 0..<(min(3, bytes.count - i) + 1) { out.append(alphabet[Int(g >> (18 - 6 * UInt32(k)) & 63)]) }
                i += 3
            }
            return String(decoding: out, as: UTF8.self)
        }
        let input = b64(Array(header.utf8)) + "." + b64(Array(payload.utf8))
        var mac = [UInt8](repeating: 0, count: 64)
        let n = Array(input.utf8).withUnsafeBytes { d in
            mac.withUnsafeMutableBytes { JWTScratch().hmac(bits: 256, key: Self.rfcKey, data: d, into: $0) }
        }
        return Substring(input + "." + b64(Array(mac.prefix(n ?? 0))))
    }

    func claims(_ token: Substring, _ s: JWTSettings? = nil, now: Int = 1_000) -> Result<JWTClaims, JWTError> {
        Result { () throws(JWTError) in try JWTVerifier.verify(token, s ?? settings(), nowSeconds: now) }
    }

    @Test("one scratch checks token after token: the keyed HMAC context is reused")
    func scratchReuse() throws {
        let scratch = JWTScratch()
        let tampered = Self.rfcToken.dropLast() + "Y"
        let s256 = settings(), s512 = settings([.hs512])
        let hs512 = sign(#"{"sub":"u"}"#, header: #"{"alg":"HS512"}"#)
        func check(_ token: Substring, _ s: JWTSettings) -> JWTError? {
            var text = String(token)
            return text.withUTF8 { t in
                Result { () throws(JWTError) in
                    try JWTVerifier.verify(UnsafeRawBufferPointer(t), s, nowSeconds: 1_300_819_000, scratch: scratch)
                }.error
            }
        }
        for _ in 0..<3 {
            #expect(check(Self.rfcToken, s256) == nil)
            #expect(check(tampered, s256) == .badSignature)
            #expect(check(hs512, s512) == .badSignature, "an HS256 signature under an HS512 header")
        }
        let other = JWTSettings(algorithms: [.hs256], secret: Array("another secret that is 32 bytes!!".utf8))
        #expect(check(Self.rfcToken, other) == .badSignature, "another secret, another context")
        #expect(check(Self.rfcToken, s256) == nil)
    }

    @Test("claims are read as the JSON tree read them")
    func claimsInPlace() {
        let s = settings(issuer: "ié", audience: "chat")
        let payload = #"{"iss":"i\u00e9","aud":["x","chat"],"sub":"a\"b","rooms":["r1","r\u00e92"]}"#
        #expect(claims(sign(payload), s).value
                == JWTClaims(subject: "a\"b", rooms: ["r1", "ré2"], expiresAt: nil, payload: Array(payload.utf8)))
        #expect(claims(sign(#"{"iss":"ié","aud":"chat"}"#), s).value != nil, "the character and its escape are one string")
        #expect(claims(sign(#"{"\u0065xp":10,"exp":99999}"#)).error == .expired, "the first exp counts, whatever its spelling")
        #expect(claims(sign(#"{"exp":1e300}"#)).value?.expiresAt == 1 << 53, "a huge exp is far future, not a trap")
        #expect(claims(sign(#"{"exp":-1e300}"#)).error == .expired)
        #expect(claims(sign(#"{"exp":"soon"}"#)).error == .badClaim("exp"))
        #expect(claims(sign(#"{"nbf":2000.5}"#)).error == .notYetValid)
        #expect(claims(sign(#"{"nbf":true}"#)).error == .badClaim("nbf"))
        #expect(claims(sign(#"{"aud":["x",1]}"#), settings(audience: "chat")).error == .wrongAudience)
        #expect(claims(sign(#"{"aud":{"chat":1}}"#), settings(audience: "chat")).error == .wrongAudience)
        #expect(claims(sign(#"{"sub":1}"#)).error == .badClaim("sub"))
        #expect(claims(sign(#"{"rooms":["a",""]}"#)).error == .badClaim("rooms"))
        #expect(claims(sign(#"{"rooms":"a"}"#)).error == .badClaim("rooms"))
        #expect(claims(sign(#"{"rooms":[]}"#)).value?.rooms == [])
        #expect(claims(sign(#"["sub"]"#)).error == .malformed("payload"))
        #expect(claims(sign(#"{"sub":"x",}"#)).error == .malformed("payload"))
        #expect(claims(sign("{}", header: #"{"alg":"HS\u0032\u0035\u0036"}"#)).value != nil, "an escaped alg is the same alg")
        #expect(claims(sign("{}", header: #"{"typ":"JWT"}"#)).error == .malformed("header has no alg"))
        #expect(claims(sign("{}", header: #"{"alg":256}"#)).error == .malformed("header has no alg"))
        #expect(claims(sign("{}", header: #"{"alg":"none"}"#)).error == .algorithmNotAllowed("none"))
        #expect(claims(sign("{}", header: #"[]"#)).error == .malformed("header"))
        #expect(claims(sign("{}") + "=").value != nil, "padding is tolerated")
        #expect(claims(sign("{}") + "!").error == .malformed("signature"))
        #expect(claims(sign("{}") + "a").error == .badSignature, "33 bytes are not an HMAC-SHA256")
        #expect(claims("e30.e30.e30.e30").error == .malformed("expected 3 parts, got 4"))
        #expect(claims("").error == .malformed("expected 3 parts, got 1"))
    }

    @Test("gateway.json: auth.jwt is validated with JSON paths")
    func config() {
        func problems(_ auth: String) -> [String] {
            let text = #"{"listen":"127.0.0.1:1","modules":[{"path":"/c","default":{"local":"echo"},"auth":\#(auth)}]}"#
            do throws(ConfigError) {
                _ = try GatewayConfig.parse(Array(text.utf8), environment: [:])
                return []
            } catch {
                return error.problems
            }
        }
        let secret = String(repeating: "s", count: 32)
        #expect(problems(#"{"jwt":{"algorithms":["HS256"],"secret":"\#(secret)"}}"#) == [])
        #expect(problems(#"{}"#) == ["modules[0].auth.jwt: required"])
        #expect(problems(#"{"jwt":{"secret":"\#(secret)"}}"#).first?.hasPrefix("modules[0].auth.jwt.algorithms: required") == true)
        #expect(problems(#"{"jwt":{"algorithms":["HS256"],"secret":"short"}}"#) == ["modules[0].auth.jwt.secret: must be at least 32 bytes (got 5)"])
        #expect(problems(#"{"jwt":{"algorithms":["HS256"],"secret":"\#(secret)"},"token":["cookie:x"]}"#)
                == [#"modules[0].auth.token[0]: must be "header:<Name>" or "query:<name>", got "cookie:x""#])
        #expect(problems(#"{"jwt":{"algorithms":["HS256"],"secret":"\#(secret)","leewaySeconds":301}}"#).count == 1)
    }
}

private extension Result {
    var value: Success? { if case .success(let v) = self { v } else { nil } }
    var error: Failure? { if case .failure(let e) = self { e } else { nil } }
}
