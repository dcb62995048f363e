@testable import Gateway
import GatewayBackend
import Testing

/// `protocol` on routes and `http[]` proxy routes: http1 (default) | h2c | h2, and a scheme that
/// does not fit is an error naming the JSON path.
@Suite struct BackendProtocolConfigTests {
    func parse(_ routes: String, http: String = "[]") throws(ConfigError) -> GatewayConfig {
        let text = #"{"listen":"127.0.0.1:1","modules":[{"path":"/ws","routes":"# + routes + #"}],"http":"# + http + "}"
        return try GatewayConfig.parse(Array(text.utf8), environment: [:])
    }

    func problems(_ routes: String, http: String = "[]") -> [String] {
        do {
            _ = try parse(routes, http: http)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func routesAndProxyRoutesCarryTheProtocol() throws {
        let cfg = try parse(#"""
            {"a": {"url": "http://127.0.0.1:9000/a", "protocol": "h2c"},
             "b": {"url": "https://svc:9443/b", "protocol": "h2"},
             "c": {"url": "http://127.0.0.1:9000/c", "protocol": "http1"},
             "d": {"url": "http://127.0.0.1:9000/d"},
             "e": "http://127.0.0.1:9000/e"}
            """#, http: #"[{"prefix": "/api/", "url": "http://127.0.0.1:9000/", "protocol": "h2c"}, {"prefix": "/x/", "url": "http://127.0.0.1:9000/"}]"#)
        let r = cfg.modules[0].routes
        #expect(r["a"]?.httpProtocol == .h2c)
        #expect(r["b"]?.httpProtocol == .h2)
        #expect(r["c"]?.httpProtocol == .http1)
        #expect(r["d"]?.httpProtocol == .http1)
        #expect(r["e"]?.httpProtocol == .http1)
        #expect(cfg.http.map(\.httpProtocol) == [.h2c, .http1])
    }

    @Test func badValuesAndMismatchesAreErrorsWithTheirPath() {
        #expect(problems(#"{"a": {"url": "http://127.0.0.1:9000/a", "protocol": "h3"}}"#)
            == [#"modules[0].routes.a.protocol: must be http1, h2c (HTTP/2 over cleartext, prior knowledge) or h2 (HTTP/2 over TLS), got "h3""#])
        #expect(problems(#"{"a": {"url": "http://127.0.0.1:9000/a", "protocol": true}}"#) == ["modules[0].routes.a.protocol: expected a string"])
        #expect(problems(#"{"a": {"url": "http://127.0.0.1:9000/a", "protocol": "h2"}}"#)
            == [#"modules[0].routes.a.protocol: h2 is HTTP/2 over TLS; an http:// URL needs "h2c" (http://127.0.0.1:9000/a)"#])
        #expect(problems(#"{"a": {"url": "HTTPS://127.0.0.1:9000/a", "protocol": "h2c"}}"#)
            == [#"modules[0].routes.a.protocol: h2c is HTTP/2 over cleartext; an https:// URL needs "h2" (HTTPS://127.0.0.1:9000/a)"#])
        #expect(problems(#"{"a": {"local": "echo", "protocol": "h2c"}}"#)
            == ["modules[0].routes.a.protocol: applies to url routes only (a local handler makes no backend call)"])
        let proxy = problems(#"{"a": "http://127.0.0.1:9000/a"}"#, http: #"[{"prefix": "/api/", "url": "https://127.0.0.1:9000/", "protocol": "h2c"}]"#)
        #expect(proxy.count == 1 && proxy[0].hasPrefix("http[0].protocol: h2c is HTTP/2 over cleartext"))
    }

    @Test func mismatchIsDecidedByTheScheme() {
        #expect(BackendProtocol.http1.mismatch(url: "https://x") == nil)
        #expect(BackendProtocol.h2c.mismatch(url: "http://x") == nil)
        #expect(BackendProtocol.h2.mismatch(url: "https://x") == nil)
        #expect(BackendProtocol.h2.mismatch(url: "http://x") != nil)
        #expect(BackendProtocol.h2c.mismatch(url: "https://x") != nil)
    }
}
