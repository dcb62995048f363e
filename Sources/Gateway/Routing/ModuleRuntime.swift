internal import GatewayBackend

/// A module ready to serve: its config plus what is derived from it once (router, lower-cased
/// header names). Immutable and shared by every loop.
final class ModuleRuntime: Sendable {
    let config: ModuleConfig
    let router: CommandRouter
    /// Copied out of `config` so the per-message path reads two fields, not a large struct.
    let parser: ParserKind
    let rawCommand: String
    /// The route of every message of a `raw` module (its command is the module's, never the
    /// message's), looked up once here instead of hashing the same string per message; nil for the
    /// other formats or when no route takes the command.
    let rawRoute: RouteRef?
    /// Lower-cased names of handshake headers forwarded to backends on every call.
    let forwardHeaders: [String]
    /// Lower-cased names of every handshake header any route of the module may forward: the
    /// handshake keeps only these.
    let anyForwardHeaders: Set<String>

    init(_ config: ModuleConfig, firstRouteIndex: Int) {
        var config = config
        // Number the routes for metrics: sorted keys, then the default.
        var i = firstRouteIndex
        for key in config.routes.keys.sorted() {
            config.routes[key]?.metricsIndex = i
            i += 1
        }
        config.defaultRoute?.metricsIndex = i
        self.config = config
        self.parser = config.parser
        self.rawCommand = config.command
        self.router = CommandRouter(routes: config.routes, defaultRoute: config.defaultRoute)
        self.rawRoute = config.parser == .raw ? router.route(for: config.command) : nil
        self.forwardHeaders = config.forwardHeaders.map { $0.lowercased() }
        var all = Set(forwardHeaders)
        for r in config.routes.values { all.formUnion(r.forwardHeaders) }
        if let d = config.defaultRoute { all.formUnion(d.forwardHeaders) }
        self.anyForwardHeaders = all
    }
}

/// Everything the loops need from one config, built once and shared.
final class RuntimeConfig: Sendable {
    let config: GatewayConfig
    let modules: [String: ModuleRuntime]
    /// `(module path, route key)` for each route's metrics index; the default route's key is `default`.
    let routeLabels: [(module: String, route: String)]
    /// Wire formats in use: pushes are encoded for these only.
    let parsers: Set<ParserKind>
    /// Increases with every reload, so a connection can tell its module definition is stale.
    let generation: Int
    /// The upstream groups, in `config.upstreams` order, shared by every loop. A reload keeps the
    /// group object (and with it the endpoints' health) of every upstream whose settings did not
    /// change, so the loops keep their breakers and ejections for it too.
    let upstreamGroups: [UpstreamGroup]

    init(_ config: GatewayConfig, generation: Int = 0, previous: RuntimeConfig? = nil) {
        self.config = config
        self.generation = generation
        var kept: [String: UpstreamGroup] = [:]
        for g in previous?.upstreamGroups ?? [] { kept[g.name] = g }
        self.upstreamGroups = config.upstreams.map { s in
            if let g = kept[s.name], g.settings == s { return g }
            return UpstreamGroup(settings: s)
        }
        self.parsers = Set(config.modules.map(\.parser))
        var m: [String: ModuleRuntime] = [:]
        var labels: [(module: String, route: String)] = []
        for mod in config.modules {
            m[mod.path] = ModuleRuntime(mod, firstRouteIndex: labels.count)
            for key in mod.routes.keys.sorted() { labels.append((mod.path, key)) }
            labels.append((mod.path, "default"))
        }
        self.modules = m
        self.routeLabels = labels
    }

    var limits: Limits { config.limits }
}
