internal import GatewayBackend

extension LoopContext {
    /// Queues a session's disconnect hook (DESIGN §4) on this loop's dispatcher, retried with
    /// backoff: for a session that ended here, and for one of a node that died.
    func postDisconnectHook(
        target: BackendTarget, key: ConnectionKey, user: String?, rooms: [String], code: UInt16, reason: String, durationMs: Int
    ) {
        let body = BackendCallSpec.disconnectHookBody(
            key: key, user: user, rooms: rooms, code: code, reason: reason, durationMs: durationMs)
        var headers = [("Gateway-Connection-Id", key.string)]
        if let u = user { headers.append(("Gateway-User", u)) }
        hooks.post(target: target, body: body, what: "disconnect", headers: headers, timeoutMs: limits.backendTimeoutMs)
    }
}
