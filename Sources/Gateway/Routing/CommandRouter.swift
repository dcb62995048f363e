/// Maps a command to its route: the exact command first, then the longest matching `prefix.*`
/// wildcard, then `*`, then the module's default. Built once per config; lookups do not allocate.
struct CommandRouter: Sendable {
    private let exact: [String: Route]
    /// `(prefix including the dot, route)`, longest prefix first.
    private let wildcards: [(prefix: String, route: Route)]
    private let catchAll: Route?
    private let fallback: Route?

    init(routes: [String: Route], defaultRoute: Route?) {
        var exact: [String: Route] = [:]
        var wild: [(String, Route)] = []
        var star: Route?
        for (cmd, route) in routes {
            if cmd == "*" {
                star = route
            } else if cmd.hasSuffix(".*") {
                wild.append((String(cmd.dropLast(1)), route))
            } else {
                exact[cmd] = route
            }
        }
        self.exact = exact
        self.wildcards = wild.sorted { $0.0.utf8.count > $1.0.utf8.count }.map { (prefix: $0.0, route: $0.1) }
        self.catchAll = star
        self.fallback = defaultRoute
    }

    /// The route for `command`, or nil (`unknown_command`).
    func route(for command: String) -> Route? {
        if let r = exact[command] { return r }
        for w in wildcards where command.utf8.count > w.prefix.utf8.count && command.hasPrefix(w.prefix) {
            return w.route
        }
        return catchAll ?? fallback
    }
}
