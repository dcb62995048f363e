internal import GatewayIO

/// The admin and push API (DESIGN §5) on its own listener, served by loop 0. Every request except
/// `/healthz` and `/readyz` (left open for orchestrator probes) needs `Authorization: Bearer <token>`.
/// Requests that concern connections on other loops are answered by those loops through the hub.
final class AdminServer: AcceptHandler {
    unowned let context: LoopContext
    var token: [UInt8]
    let startedAt: UInt64
    let engine: IOEngineKind

    init(context: LoopContext, token: String, engine: IOEngineKind) {
        self.context = context
        self.token = Array(token.utf8)
        self.startedAt = context.loop.now
        self.engine = engine
    }

    func accepted(_ connection: TCPConnection) {
        connection.handler = AdminConnection(server: self, tcp: connection)
    }

    /// Constant-time comparison of the presented bearer token, so response timing reveals nothing.
    func authorized(_ header: String?) -> Bool {
        guard let header else { return false }
        let prefix = "bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix) else { return false }
        let presented = Array(header.utf8.dropFirst(prefix.utf8.count))
        var diff = UInt8(presented.count == token.count ? 0 : 1)
        for i in 0..<token.count {
            diff |= token[i] ^ (i < presented.count ? presented[i] : 0)
        }
        return diff == 0
    }
}
