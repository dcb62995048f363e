internal import GatewayBuffers
internal import GatewayIO
internal import GatewayJSON
internal import GatewayWebSocket

extension ClientConnection {
    /// Queues the module's disconnect hook: `{"connectionId","user","rooms","code","reason","durationMs"}`.
    /// `code` is the close code the client sent, or the one the gateway sent, or 1006 when the
    /// connection dropped without a close frame.
    func sendDisconnectHook(_ s: WebSocketSession) {
        guard let url = s.module.config.disconnect else { return }
        var b = ByteBuffer(capacity: 256)
        b.write(string: "{\"connectionId\":")
        JSONWriter.writeString(id, into: &b)
        b.write(string: ",\"user\":")
        if let u = s.user { JSONWriter.writeString(u, into: &b) } else { b.write(string: "null") }
        b.write(string: ",\"rooms\":[")
        for (i, r) in s.rooms.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(r, into: &b)
        }
        b.write(string: "],\"code\":")
        b.write(decimal: Int((s.closeCode ?? .abnormal).rawValue))
        b.write(string: ",\"reason\":")
        JSONWriter.writeString(s.closeReason ?? "", into: &b)
        b.write(string: ",\"durationMs\":")
        b.write(decimal: Int((context.loop.now &- s.openedAt) / 1_000_000))
        b.write(byte: UInt8(ascii: "}"))
        var headers = [("Gateway-Connection-Id", id)]
        if let u = s.user { headers.append(("Gateway-User", u)) }
        context.hooks.post(url: url, body: b.readableArray, what: "disconnect", headers: headers)
    }
}
