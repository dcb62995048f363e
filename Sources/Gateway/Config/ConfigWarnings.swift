internal import GatewayBackend
internal import GatewayIO

extension GatewayConfig {
    /// Settings that are valid but risky, as one sentence each with the JSON path first: printed by
    /// `check-config` (which still exits 0) and logged as warnings at start-up. Each names the
    /// failure it invites, so that an operator can decide instead of discovering it.
    public var warnings: [String] {
        var w: [String] = []
        let publicListener = !listen.isLoopback
        if limits.backendPipelineDepth > 1 {
            w.append("limits.backendPipelineDepth is \(limits.backendPipelineDepth): HTTP/1.1 pipelining breaks with backends or proxies that do not answer requests strictly in order; keep 1 unless every backend is known to pipeline correctly")
        }
        if publicListener && limits.maxConnectionsPerIP == 0 {
            w.append("limits.maxConnectionsPerIP is 0 (no limit) on a non-loopback listener (\(listen)): one client can take every connection up to limits.maxConnections")
        }
        if publicListener && limits.maxConnections == 0 {
            w.append("limits.maxConnections is 0 (no limit) on a non-loopback listener (\(listen)): a connection flood ends at the file-descriptor limit instead of a clean refusal")
        }
        if publicListener && limits.messagesPerSecond == 0 {
            w.append("limits.messagesPerSecond is 0 (no rate limit) on a non-loopback listener (\(listen)): one client can keep the backends busy")
        }
        if let admin, !admin.listen.isLoopback {
            if admin.tls == nil {
                w.append("admin.listen \(admin.listen) is not loopback and admin.tls is not set: the admin token crosses the network in clear text")
            }
            if admin.token.utf8.count < 24 {
                w.append("admin.token is \(admin.token.utf8.count) characters on a non-loopback admin listener: use at least 24 random characters")
            }
        }
        for (i, m) in modules.enumerated() {
            let p = "modules[\(i)]"
            let sendsCookies = m.forwardHeaders.contains("cookie")
                || m.routes.values.contains { $0.forwardHeaders.contains("cookie") }
                || (m.defaultRoute?.forwardHeaders.contains("cookie") ?? false)
            if publicListener && m.origins == nil && (sendsCookies || m.handshake != nil) {
                w.append("\(p).origins is not set on \(m.path): any web page can open a WebSocket here with the visitor's cookies (cross-site WebSocket hijacking); list the allowed origins")
            }
        }
        for u in upstreams {
            if let r = u.retry, r.on.contains(.timeout), r.perTryTimeoutMs == nil {
                w.append("upstreams.\(u.name).retry.on lists timeout but perTryTimeoutMs is not set: a timed-out try takes all of the route's timeout and leaves none for a retry")
            }
        }
        return w
    }
}

extension SocketAddress {
    /// 127.0.0.0/8 or ::1: reachable from this machine only.
    var isLoopback: Bool {
        switch host {
        case .v4(let a, _, _, _): a == 127
        case .v6(let b): b.count == 16 && b[0..<15].allSatisfy { $0 == 0 } && b[15] == 1
        }
    }
}
