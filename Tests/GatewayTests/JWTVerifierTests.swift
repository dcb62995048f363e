@testable import Gateway
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

    @Test("the token comes from the first configured place that has one")
    func sources() {
        let s = JWTSettings(algorithms: [.hs256], secret: [], sources: [.header("authorization"), .query("token")])
        #expect(JWTVerifier.token(in: s, header: { $0 == "authorization" ? "Bearer  abc" : nil }, query: { _ in "q" }) == "abc")
        #expect(JWTVerifier.token(in: s, header: { _ in nil }, query: { $0 == "token" ? "q" : nil }) == "q")
        #expect(JWTVerifier.token(in: s, header: { _ in nil }, query: { _ in nil }) == nil)
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
