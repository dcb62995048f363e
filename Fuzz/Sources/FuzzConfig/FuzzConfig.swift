import FuzzSupport
@testable import Gateway
import GatewayIO
import GatewayJSON

/// Fuzzes the configuration loader, `GatewayConfig.parse(_:environment:)`, with a fixed environment
/// (set, empty and missing variables for `${VAR}` / `${VAR:-default}`).
///
/// Input: the text of a gateway.json, no option bytes.
///
/// - Invalid JSON fails with exactly one problem, located as `line L, column C`.
/// - A failure lists at least one problem, none empty; valid JSON that is not an object says so.
/// - A loaded config keeps its promises: listen and admin addresses differ, the admin token has 16+
///   bytes, module paths are unique and start with `/`, routes target http(s) URLs or local
///   handlers, every limit is inside its documented range.
/// - The loaded config is put in force as on start and reload (`RuntimeConfig`), and its routers
///   answer lookups for every configured command.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let json = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try JSONValue.parse(raw) } }
    let loaded = Result { () throws(ConfigError) in try GatewayConfig.parse(bytes, environment: environment) }
    switch loaded {
    case .failure(let error):
        check(!error.problems.isEmpty && error.problems.allSatisfy { !$0.isEmpty }, "empty problem list \(error.problems)")
        switch json {
        case .failure:
            check(error.problems.count == 1 && error.problems[0].hasPrefix("line "), "invalid JSON reported as \(error.problems)")
        case .success(let value):
            if value.objectValue == nil { check(error.problems == ["expected an object"], "non-object reported as \(error.problems)") }
        }
    case .success(let config):
        guard case .success(let value) = json, value.objectValue != nil else { invariantFailed("loaded a config from \(json)") }
        checkLoaded(config)
    }
    return 0
}

/// The environment every input is loaded with.
let environment: [String: String] = [
    "PORT": "8080", "HOST": "127.0.0.1", "EMPTY": "", "TOKEN": "0123456789abcdef0123", "URL": "http://[::1]:9000/x",
    "IDLE": "60", "NAME": "caf\u{E9} \u{1F600}", "BRACE": "}${",
]

func checkLoaded(_ config: GatewayConfig) {
    if let admin = config.admin {
        check(admin.listen != config.listen, "admin listens where the gateway does")
        check(admin.token.utf8.count >= 16, "short admin token")
    }
    check((0...256).contains(config.io.loops), "loops \(config.io.loops)")
    var paths = Set<String>()
    for module in config.modules {
        check(module.path.hasPrefix("/") && !module.path.contains("?") && !module.path.contains("#") && !module.path.contains(" "), "module path \(module.path.debugDescription)")
        check(paths.insert(module.path).inserted, "duplicate module path \(module.path.debugDescription)")
        check(!module.routes.isEmpty || module.defaultRoute != nil, "module without routes")
        for (command, route) in module.routes {
            check(!command.isEmpty, "empty command")
            checkRoute(route)
        }
        if let route = module.defaultRoute { checkRoute(route) }
        for url in [module.handshake, module.disconnect].compactMap({ $0 }) { check(HTTPURL.isValid(url), "hook URL \(url.debugDescription)") }
        check(!module.forwardHeaders.contains { $0.lowercased().hasPrefix("gateway-") }, "Gateway-* header forwarded")
    }
    for route in config.http {
        check(route.prefix.hasPrefix("/") && HTTPURL.isValid(route.url), "proxy route \(route.prefix) → \(route.url)")
    }
    checkLimits(config.limits)

    // What start and reload do with it.
    let runtime = RuntimeConfig(config)
    check(runtime.modules.count == config.modules.count, "runtime modules")
    for module in config.modules {
        guard let built = runtime.modules[module.path] else { invariantFailed("module \(module.path) not in force") }
        for command in module.routes.keys {
            check(built.router.route(for: command) != nil, "no route for configured command \(command.debugDescription)")
        }
        _ = built.router.route(for: "unconfigured.command")
        _ = built.router.route(for: "")
    }
}

func checkRoute(_ route: Route) {
    if case .url(let url) = route.target { check(HTTPURL.isValid(url), "route URL \(url.debugDescription)") }
    check(["GET", "POST", "PUT", "PATCH", "DELETE"].contains(route.method), "route method \(route.method)")
    if let t = route.timeoutMs { check((1...3_600_000).contains(t), "timeoutMs \(t)") }
    check(!route.forwardHeaders.contains { $0.hasPrefix("gateway-") }, "Gateway-* header forwarded")
}

/// Every limit inside the range `ConfigDecoder.decodeLimits` documents.
func checkLimits(_ l: Limits) {
    let ranges: [(String, Int, ClosedRange<Int>)] = [
        ("maxMessageBytes", l.maxMessageBytes, 1...(1 << 30)),
        ("sendQueueBytes", l.sendQueueBytes, 1024...(1 << 31)),
        ("idleTimeoutSeconds", l.idleTimeoutSeconds, 1...86_400),
        ("pingIntervalSeconds", l.pingIntervalSeconds, 1...86_400),
        ("backendTimeoutMs", l.backendTimeoutMs, 1...3_600_000),
        ("handshakeTimeoutSeconds", l.handshakeTimeoutSeconds, 1...3_600),
        ("maxHeaderBytes", l.maxHeaderBytes, 1024...(1 << 20)),
        ("maxRequestBodyBytes", l.maxRequestBodyBytes, 0...(1 << 30)),
        ("maxInflightPerConnection", l.maxInflightPerConnection, 1...65_536),
        ("maxBackendResponseBytes", l.maxBackendResponseBytes, 1...(1 << 30)),
        ("drainTimeoutSeconds", l.drainTimeoutSeconds, 0...3_600),
        ("closeTimeoutSeconds", l.closeTimeoutSeconds, 1...600),
        ("maxProxyBodyBytes", l.maxProxyBodyBytes, 0...(1 << 40)),
        ("maxConnections", l.maxConnections, 0...10_000_000),
        ("maxConnectionsPerIP", l.maxConnectionsPerIP, 0...10_000_000),
        ("messagesPerSecond", l.messagesPerSecond, 0...100_000_000),
        ("messageBurst", l.messageBurst, 1...100_000_000),
        ("maxBackendConnectionsPerHost", l.maxBackendConnectionsPerHost, 0...100_000),
    ]
    for (name, value, range) in ranges { check(range.contains(value), "\(name) = \(value)") }
}
