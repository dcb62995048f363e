@testable import Gateway
import GatewayHTTP1
import GatewayIO
import Testing

@Suite("gateway.json loading and validation")
struct GatewayConfigTests {
    func parse(_ text: String, env: [String: String] = [:]) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig.parse(Array(text.utf8), environment: env)
    }

    func problems(_ text: String, env: [String: String] = [:]) -> [String] {
        do {
            _ = try parse(text, env: env)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func fullExampleFromTheDesignParses() throws {
        let cfg = try parse("""
        {
          "listen": "0.0.0.0:8080",
          "io": { "engine": "auto", "loops": 0 },
          "admin": { "listen": "127.0.0.1:8081", "token": "${GATEWAY_ADMIN_TOKEN}" },
          "limits": { "maxMessageBytes": 1048576, "sendQueueBytes": 4194304,
                      "idleTimeoutSeconds": 120, "pingIntervalSeconds": 30, "backendTimeoutMs": 5000 },
          "modules": [
            {
              "path": "/chat",
              "parser": "json",
              "handshake": "http://127.0.0.1:9000/ws/handshake",
              "disconnect": "http://127.0.0.1:9000/ws/disconnect",
              "routes": {
                "chat.send": { "url": "http://127.0.0.1:9000/messages", "deliver": "room" },
                "user.*":    "http://127.0.0.1:9100/rpc",
                "echo":      { "local": "echo" }
              },
              "default": "http://127.0.0.1:9000/ws/other"
            }
          ],
          "http": [ { "prefix": "/api/", "url": "http://127.0.0.1:9000/" } ]
        }
        """, env: ["GATEWAY_ADMIN_TOKEN": "0123456789abcdef0123"])
        #expect(cfg.listen.description == "0.0.0.0:8080")
        #expect(cfg.io.engine == .auto)
        #expect(cfg.admin?.token == "0123456789abcdef0123")
        #expect(cfg.modules.count == 1)
        #expect(cfg.modules[0].routes["chat.send"]?.deliver == .senderRooms)
        #expect(cfg.modules[0].routes["user.*"]?.target == .url("http://127.0.0.1:9100/rpc"))
        #expect(cfg.modules[0].routes["echo"]?.target == .local(.echo))
        #expect(cfg.modules[0].defaultRoute?.target == .url("http://127.0.0.1:9000/ws/other"))
        #expect(cfg.http.first?.prefix == "/api/")
    }

    @Test func defaultsApplyWhenLimitsAreAbsent() throws {
        let cfg = try parse(#"{"listen":"127.0.0.1:1","modules":[{"path":"/a","default":{"local":"echo"}}]}"#)
        #expect(cfg.limits == Limits())
        #expect(cfg.modules[0].parser == .json)
        #expect(cfg.modules[0].command == "message")
    }

    @Test func errorsNameTheJSONPath() {
        let p = problems("""
        {"listen":"127.0.0.1:8080","colour":1,
         "modules":[{"path":"/chat","routes":{"chat.send":{"url":"ftp://x"}, "a":{"local":"nope"}}},
                    {"path":"/chat","routes":{"x":"http://h/"}}],
         "limits":{"maxMessageBytes":0,"pingIntervalSeconds":"soon"}}
        """)
        #expect(p.contains { $0.hasPrefix("colour: unknown key") })
        #expect(p.contains("modules[0].routes[\"chat.send\"].url: not an absolute http(s) URL: \"ftp://x\""))
        #expect(p.contains { $0.hasPrefix("modules[0].routes.a.local: unknown local handler \"nope\"") })
        #expect(p.contains("modules[1].path: duplicate path \"/chat\" (also modules[0].path)"))
        #expect(p.contains("limits.maxMessageBytes: must be between 1 and 1073741824"))
        #expect(p.contains("limits.pingIntervalSeconds: expected an integer"))
    }

    @Test func environmentSubstitution() throws {
        let text = #"{"listen":"${HOST:-127.0.0.1}:${PORT}","modules":[{"path":"/a","default":"http://${BACKEND}/x"}]}"#
        let cfg = try parse(text, env: ["PORT": "9999", "BACKEND": "10.0.0.1:80"])
        #expect(cfg.listen.description == "127.0.0.1:9999")
        #expect(cfg.modules[0].defaultRoute?.target == .url("http://10.0.0.1:80/x"))
        #expect(problems(text, env: ["PORT": "1"]) == ["modules[0].default: environment variable BACKEND is not set"])
    }

    @Test func invalidJSONReportsLineAndColumn() {
        let p = problems("{\n  \"listen\": \"x\",\n  oops\n}")
        #expect(p.count == 1)
        #expect(p[0].hasPrefix("line 3, column 3: invalid JSON"))
    }

    @Test func rejectsBadValues() {
        #expect(problems(#"{"listen":"nowhere","modules":[]}"#) == ["listen: not a listen address like 0.0.0.0:8080 or [::1]:8080: \"nowhere\""])
        #expect(problems(#"{"listen":"127.0.0.1:1"}"#) == ["modules: required (an array of modules)"])
        #expect(problems(#"{"listen":"127.0.0.1:1","io":{"engine":"kqueue"},"modules":[]}"#) == ["io.engine: must be auto, io_uring or epoll, got \"kqueue\""])
        #expect(problems(#"{"listen":"127.0.0.1:1","modules":[{"path":"chat"}]}"#).contains("modules[0].path: must start with / and contain no query, fragment or space: \"chat\""))
        #expect(problems(#"{"listen":"127.0.0.1:1","modules":[{"path":"/a","routes":{"x":{"url":"http://h/","local":"echo"}}}]}"#)
            == ["modules[0].routes.x: has both \"url\" and \"local\"; choose one"])
        #expect(problems(#"{"listen":"127.0.0.1:1","modules":[{"path":"/a","routes":{"x":{"url":"http://h/","deliver":"everyone"}}}]}"#)
            == ["modules[0].routes.x.deliver: must be sender, all, others, room, room:<name> or none, got \"everyone\""])
        #expect(problems(#"{"listen":"127.0.0.1:1","modules":[{"path":"/a","routes":{"x*":"http://h/"}}]}"#)
            == ["modules[0].routes[\"x*\"]: a wildcard must be a whole last segment, like \"user.*\""])
        #expect(problems(#"{"listen":"127.0.0.1:1","modules":[{"path":"/a","forwardHeaders":["Gateway-User"],"default":{"local":"echo"}}]}"#)
            == ["modules[0].forwardHeaders[0]: Gateway-* headers are set by the gateway and never forwarded from clients"])
        #expect(problems(#"{"listen":"127.0.0.1:1","admin":{"listen":"127.0.0.1:2","token":"short"},"modules":[]}"#)
            == ["admin.token: must be at least 16 characters"])
    }

    @Test func urlValidation() {
        for good in ["http://h", "http://127.0.0.1:9000/x?y=1", "https://example.com/a", "http://[::1]:80/"] {
            #expect(HTTPURL.isValid(good), "\(good)")
        }
        for bad in ["", "h:80", "ftp://h", "http://", "http://:80/", "http://h:0/", "http://h:99999/", "http://u@h/", "http://h /", "http://[::1/"] {
            #expect(!HTTPURL.isValid(bad), "\(bad)")
        }
    }
}
