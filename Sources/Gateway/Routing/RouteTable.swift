internal import GatewayBackend

/// What each module's command map resolves to, for `gateway routes`: people read it to see which
/// backend a command will hit, in the order the router tries them (exact, the longest `prefix.*`,
/// `*`, the module's `default`).
public struct RouteTable: Sendable {
    /// One line of the table.
    public struct Entry: Sendable, Equatable {
        /// `exact`, `wildcard`, `catch-all` or `default`.
        public var kind: String
        /// The command pattern as written (`chat.send`, `user.*`, `*`; empty for `default`).
        public var pattern: String
        /// Where it goes: `POST <url>`, `local echo`, ...
        public var target: String
        /// `deliver`, timeout and forwarded headers when they differ from the defaults.
        public var notes: [String]
    }

    /// A module's table.
    public struct Module: Sendable {
        public var path: String
        public var parser: String
        public var hooks: [(name: String, target: String)]
        public var entries: [Entry]
    }

    public let modules: [Module]

    /// The table of `config`.
    public init(_ config: GatewayConfig) {
        modules = config.modules.map { m in
            var entries: [Entry] = []
            let exact = m.routes.filter { $0.key != "*" && !$0.key.hasSuffix(".*") }.sorted { $0.key < $1.key }
            let wild = m.routes.filter { $0.key.hasSuffix(".*") }.sorted { ($0.key.utf8.count, $0.key) > ($1.key.utf8.count, $1.key) }
            for (cmd, r) in exact { entries.append(Entry(kind: "exact", pattern: cmd, target: r.targetSummary, notes: r.notes)) }
            for (cmd, r) in wild { entries.append(Entry(kind: "wildcard", pattern: cmd, target: r.targetSummary, notes: r.notes)) }
            if let r = m.routes["*"] { entries.append(Entry(kind: "catch-all", pattern: "*", target: r.targetSummary, notes: r.notes)) }
            if let r = m.defaultRoute { entries.append(Entry(kind: "default", pattern: "", target: r.targetSummary, notes: r.notes)) }
            var hooks: [(String, String)] = []
            if let h = m.handshake { hooks.append(("handshake", "POST \(h)")) }
            if let h = m.disconnect { hooks.append(("disconnect", "POST \(h)")) }
            return Module(path: m.path, parser: m.parser.rawValue, hooks: hooks, entries: entries)
        }
    }

    /// For `command`: each module's entry that the router picks (nil: `unknown_command` there).
    public func resolve(_ command: String, in config: GatewayConfig) -> [(module: String, entry: Entry?)] {
        zip(config.modules, modules).map { m, table in
            let router = CommandRouter(routes: m.routes, defaultRoute: m.defaultRoute)
            guard let ref = router.route(for: command) else { return (m.path, nil) }
            let kind = ref.pattern.isEmpty ? "default" : ref.pattern == "*" ? "catch-all" : ref.pattern.hasSuffix(".*") ? "wildcard" : "exact"
            return (m.path, table.entries.first { $0.kind == kind && $0.pattern == ref.pattern })
        }
    }

    /// The table as text, one module after another.
    public func render() -> String {
        var out = ""
        for m in modules {
            out += "\(m.path) (\(m.parser))\n"
            for h in m.hooks { out += "  \(h.name.padding(10))  \(h.target)\n" }
            let width = max(8, m.entries.map { $0.pattern.count }.max() ?? 0)
            for e in m.entries {
                out += "  \(e.kind.padding(10))  \(e.pattern.padding(width))  -> \(e.target)"
                if !e.notes.isEmpty { out += "  (\(e.notes.joined(separator: ", ")))" }
                out += "\n"
            }
            if m.entries.isEmpty { out += "  (no routes)\n" }
        }
        return out
    }
}

extension Route {
    /// `POST http://…`, `GET http://…`, `local echo`, `POST upstream users /rpc`.
    var targetSummary: String {
        switch target {
        case .url(let u): "\(method) \(u)"
        case .local(let h): "local \(h.rawValue)"
        case .upstream(let t): "\(method) \(t)"
        }
    }

    /// What differs from a route's defaults.
    var notes: [String] {
        var n: [String] = []
        switch deliver {
        case .sender: break
        case .all: n.append("deliver all")
        case .others: n.append("deliver others")
        case .senderRooms: n.append("deliver room")
        case .room(let r): n.append("deliver room:\(r)")
        case .user(let u): n.append("deliver user:\(u)")
        case .connections: n.append("deliver connections")
        case .none: n.append("deliver none")
        }
        if let t = timeoutMs { n.append("timeout \(t) ms") }
        if httpProtocol != .http1 { n.append(httpProtocol.rawValue) }
        if !forwardHeaders.isEmpty { n.append("forwards \(forwardHeaders.joined(separator: ","))") }
        return n
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
