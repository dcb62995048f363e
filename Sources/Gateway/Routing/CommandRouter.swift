/// A route as the router hands it out: one shared object, so a lookup costs one retain instead of a
/// copy of the route's strings and arrays.
final class RouteRef: Sendable {
    let route: Route
    /// The command pattern it was configured under (`chat.send`, `user.*`, `*`; empty for the
    /// module's `default`), for `gateway routes`.
    let pattern: String
    init(_ route: Route, pattern: String) {
        self.route = route
        self.pattern = pattern
    }
}

/// Maps a command to its route: the exact command first, then the longest matching `prefix.*`
/// wildcard, then `*`, then the module's default. Built once per config; lookups do not allocate.
/// A class so that looking up through a module does not copy the tables.
final class CommandRouter: Sendable {
    private let exact: [String: RouteRef]
    /// `(prefix including the dot, route)`, longest prefix first.
    private let wildcards: [(prefix: String, route: RouteRef)]
    private let catchAll: RouteRef?
    private let fallback: RouteRef?

    init(routes: [String: Route], defaultRoute: Route?) {
        var exact: [String: RouteRef] = [:]
        var wild: [(String, RouteRef)] = []
        var star: RouteRef?
        for (cmd, route) in routes {
            if cmd == "*" {
                star = RouteRef(route, pattern: cmd)
            } else if cmd.hasSuffix(".*") {
                wild.append((String(cmd.dropLast(1)), RouteRef(route, pattern: cmd)))
            } else {
                exact[cmd] = RouteRef(route, pattern: cmd)
            }
        }
        self.exact = exact
        self.wildcards = wild.sorted { $0.0.utf8.count > $1.0.utf8.count }.map { (prefix: $0.0, route: $0.1) }
        self.catchAll = star
        self.fallback = defaultRoute.map { RouteRef($0, pattern: "") }
    }

    /// The route for `command`, or nil (`unknown_command`).
    func route(for command: String) -> RouteRef? {
        if let r = exact[command] { return r }
        for w in wildcards where command.utf8.count > w.prefix.utf8.count && command.hasPrefix(w.prefix) {
            return w.route
        }
        return catchAll ?? fallback
    }
}
