@testable import Gateway
import GatewayBackend
import Testing

@Suite("upstreams in gateway.json")
struct UpstreamConfigTests {
    /// A config with `upstreams` and one module whose routes (and extra module keys) are given.
    func config(upstreams: String, routes: String = #""x": {"upstream": "users", "path": "/rpc"}"#, module: String = "") -> String {
        #"{"listen": "127.0.0.1:1", "upstreams": \#(upstreams), "modules": [{"path": "/ws", "routes": {\#(routes)}\#(module)}]}"#
    }

    func parse(_ text: String) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig.parse(Array(text.utf8), environment: [:])
    }

    func problems(_ text: String) -> [String] {
        do {
            _ = try parse(text)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func theBriefsExampleParsesWithEveryKey() throws {
        let cfg = try parse(config(upstreams: """
        { "users": { "endpoints": ["http://127.0.0.1:9001", "http://127.0.0.1:9002"], "balance": "least-inflight",
                     "healthCheck": { "path": "/healthz", "intervalMs": 2000, "timeoutMs": 1000, "unhealthyAfter": 3, "healthyAfter": 2 },
                     "retry": { "attempts": 2, "on": ["connect-failure", "503", "5xx", "timeout"], "backoffMs": 25, "maxBackoffMs": 250,
                                "budgetPercent": 10, "perTryTimeoutMs": 300 },
                     "circuitBreaker": { "failureRatio": 0.5, "minRequests": 20, "windowMs": 10000, "openMs": 5000, "halfOpenProbes": 2 },
                     "outlierDetection": { "consecutiveFailures": 5, "baseEjectionMs": 5000, "maxEjectionPercent": 50 } },
          "auth": { "endpoints": ["https://auth.example:8443/"] } }
        """, routes: #""user.*": {"upstream": "users", "path": "/rpc", "idempotent": true}, "y": {"upstream": "auth"}"#,
           module: #", "handshake": {"upstream": "auth", "path": "/connect"}, "disconnect": "http://127.0.0.1:9/bye""#))
        #expect(cfg.upstreams.map(\.name) == ["auth", "users"])
        let u = cfg.upstreams[1]
        #expect(u.endpoints == ["http://127.0.0.1:9001", "http://127.0.0.1:9002"] && u.balance == .leastInflight)
        #expect(u.healthCheck?.intervalMs == 2000 && u.healthCheck?.unhealthyAfter == 3 && u.healthCheck?.healthyAfter == 2)
        #expect(u.retry?.on == [.connectFailure, .status(503), .serverErrors, .timeout])
        #expect(u.retry?.budgetPercent == 10 && u.retry?.perTryTimeoutMs == 300)
        #expect(u.circuitBreaker?.failureRatio == 0.5 && u.circuitBreaker?.halfOpenProbes == 2)
        #expect(u.outlierDetection?.maxEjectionPercent == 50)
        let auth = cfg.upstreams[0]
        #expect(auth.balance == .roundRobin && auth.retry == nil && auth.circuitBreaker == nil && auth.outlierDetection != nil)
        let m = cfg.modules[0]
        #expect(m.routes["user.*"]?.target == .upstream(UpstreamTarget(name: "users", index: 1, path: "/rpc", idempotent: true, retries: true)))
        #expect(m.routes["user.*"]?.idempotent == true)
        #expect(m.routes["y"]?.target == .upstream(UpstreamTarget(name: "auth", index: 0, path: "/")))
        #expect(m.handshake == .upstream(UpstreamTarget(name: "auth", index: 0, path: "/connect")))
        #expect(m.disconnect == .url("http://127.0.0.1:9/bye"))
    }

    @Test func outlierDetectionCanBeTurnedOff() throws {
        let cfg = try parse(config(upstreams: #"{"users": {"endpoints": ["http://h:1"], "outlierDetection": false}}"#))
        #expect(cfg.upstreams[0].outlierDetection == nil)
    }

    @Test func badUpstreamsNameTheirJSONPath() {
        let cases: [(String, String)] = [
            (#"{"users": {}}"#, #"upstreams.users.endpoints: required"#),
            (#"{"users": {"endpoints": []}}"#, "upstreams.users.endpoints: must list at least one endpoint"),
            (#"{"users": {"endpoints": ["ftp://h/"]}}"#, #"upstreams.users.endpoints[0]: not an absolute http(s) URL: "ftp://h/""#),
            (#"{"users": {"endpoints": ["http://h:1?x=1"]}}"#, "upstreams.users.endpoints[0]: an endpoint is a base URL without query or fragment"),
            (#"{"users": {"endpoints": ["http://h:1", "http://h:1"]}}"#, "upstreams.users.endpoints[1]: duplicate endpoint"),
            (#"{"users": {"endpoints": ["http://h:1"], "balance": "random"}}"#, #"upstreams.users.balance: must be round-robin or least-inflight, got "random""#),
            (#"{"users": {"endpoints": ["http://h:1"], "colour": 1}}"#, "upstreams.users.colour: unknown key"),
            (#"{"us ers": {"endpoints": ["http://h:1"]}}"#, #"upstreams["us ers"]: an upstream name must be"#),
            (#"{"users": {"endpoints": ["http://h:1"], "healthCheck": {"intervalMs": 50}}}"#, "upstreams.users.healthCheck.intervalMs: must be between 100 and 3600000"),
            (#"{"users": {"endpoints": ["http://h:1"], "healthCheck": {"intervalMs": 500, "timeoutMs": 900}}}"#, "upstreams.users.healthCheck.timeoutMs: must not exceed intervalMs (500)"),
            (#"{"users": {"endpoints": ["http://h:1"], "healthCheck": {"path": "healthz"}}}"#, "upstreams.users.healthCheck.path: must start with /"),
            (#"{"users": {"endpoints": ["http://h:1"], "healthCheck": {"unhealthyAfter": 0}}}"#, "upstreams.users.healthCheck.unhealthyAfter: must be between 1 and 100"),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"attempts": 0}}}"#, "upstreams.users.retry.attempts: must be between 1 and 10"),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"on": ["sometimes"]}}}"#, #"upstreams.users.retry.on[0]: must be connect-failure, timeout, 5xx or a status code like "503", got "sometimes""#),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"on": ["99"]}}}"#, "upstreams.users.retry.on[0]: must be connect-failure"),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"on": []}}}"#, "upstreams.users.retry.on: must name at least one condition"),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"backoffMs": 100, "maxBackoffMs": 10}}}"#, "upstreams.users.retry.maxBackoffMs: must be at least backoffMs (100)"),
            (#"{"users": {"endpoints": ["http://h:1"], "retry": {"budgetPercent": 101}}}"#, "upstreams.users.retry.budgetPercent: must be between 0 and 100"),
            (#"{"users": {"endpoints": ["http://h:1"], "circuitBreaker": {"failureRatio": 1.5}}}"#, "upstreams.users.circuitBreaker.failureRatio: must be a number above 0 and at most 1"),
            (#"{"users": {"endpoints": ["http://h:1"], "circuitBreaker": {"failureRatio": "half"}}}"#, "upstreams.users.circuitBreaker.failureRatio: must be a number"),
            (#"{"users": {"endpoints": ["http://h:1"], "circuitBreaker": {"minRequests": 0}}}"#, "upstreams.users.circuitBreaker.minRequests: must be between 1 and 1000000"),
            (#"{"users": {"endpoints": ["http://h:1"], "circuitBreaker": {"openMs": 0}}}"#, "upstreams.users.circuitBreaker.openMs: must be between 1 and 3600000"),
            (#"{"users": {"endpoints": ["http://h:1"], "outlierDetection": {"maxEjectionPercent": 120}}}"#, "upstreams.users.outlierDetection.maxEjectionPercent: must be between 0 and 100"),
            (#"{"users": {"endpoints": ["http://h:1"], "outlierDetection": true}}"#, "upstreams.users.outlierDetection: expected an object"),
        ]
        for (ups, expected) in cases {
            let p = problems(config(upstreams: ups))
            #expect(p.contains { $0.hasPrefix(expected) }, "\(ups): \(p)")
        }
        let many = (0...64).map { "\"http://h:\($0 + 1)\"" }.joined(separator: ",")
        #expect(problems(config(upstreams: #"{"users": {"endpoints": [\#(many)]}}"#)).contains("upstreams.users.endpoints: at most 64 endpoints (got 65)"))
    }

    @Test func routesAndHooksMustNameAKnownUpstream() {
        let ups = #"{"users": {"endpoints": ["http://h:1"]}}"#
        #expect(problems(config(upstreams: ups, routes: #""x": {"upstream": "people"}"#))
            == [#"modules[0].routes.x.upstream: unknown upstream "people" (defined: users)"#])
        #expect(problems(config(upstreams: ups, routes: #""x": {"upstream": "users", "url": "http://h/"}"#))
            == [#"modules[0].routes.x: has both "url" and "upstream"; choose one"#])
        #expect(problems(config(upstreams: ups, routes: #""x": {"url": "http://h/", "path": "/p"}"#))
            == [#"modules[0].routes.x.path: only with "upstream" (a url carries its own path)"#])
        #expect(problems(config(upstreams: ups, routes: #""x": {"upstream": "users", "path": "rpc"}"#))
            == [#"modules[0].routes.x.path: must start with / and contain no space or fragment: "rpc""#])
        #expect(problems(config(upstreams: ups, routes: #""x": {"upstream": "users", "idempotent": "yes"}"#))
            == ["modules[0].routes.x.idempotent: expected true or false"])
        #expect(problems(config(upstreams: ups, module: #", "handshake": {"upstream": "nobody"}"#))
            == [#"modules[0].handshake.upstream: unknown upstream "nobody" (defined: users)"#])
        #expect(problems(config(upstreams: ups, module: #", "disconnect": {"path": "/x"}"#))
            == ["modules[0].disconnect.upstream: required (or give the hook as a URL string)"])
        #expect(problems(#"{"listen": "127.0.0.1:1", "modules": [{"path": "/ws", "routes": {"x": {"upstream": "u"}}}]}"#)
            == [#"modules[0].routes.x.upstream: unknown upstream "u" (no upstreams are defined)"#])
    }

    @Test func aReloadKeepsTheGroupsOfUnchangedUpstreams() throws {
        let a = try parse(config(upstreams: #"{"users": {"endpoints": ["http://h:1"]}, "other": {"endpoints": ["http://h:2"]}}"#))
        let b = try parse(config(upstreams: #"{"users": {"endpoints": ["http://h:1"]}, "other": {"endpoints": ["http://h:3"]}}"#))
        let first = RuntimeConfig(a)
        first.upstreamGroups[1].setHealthy(0, false)
        let second = RuntimeConfig(b, generation: 1, previous: first)
        #expect(second.upstreamGroups[1] === first.upstreamGroups[1])  // users: same settings
        #expect(!second.upstreamGroups[1].isHealthy(0))
        #expect(second.upstreamGroups[0] !== first.upstreamGroups[0])  // other: changed endpoints
    }
}
