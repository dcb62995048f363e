internal import GatewayBuffers
internal import GatewayWebSocket

/// The WebSocket half of a client connection: reader, closing handshake, reply ordering, and the
/// session data (user, rooms, forwarded headers) that backend calls carry.
final class WebSocketSession {
    /// The module definition in use; refreshed after a reload (see `runtimeGeneration`).
    var module: ModuleRuntime
    /// Generation of the config `module` was taken from.
    var runtimeGeneration = 0
    var reader: WebSocketFrameReader
    var closeState = WebSocketCloseState()
    var replies = ReplyQueue()
    /// Backend calls in flight for this connection.
    var inflight = 0
    /// Reading is paused because `inflight` reached the limit (or the send queue is full).
    var paused = false
    /// Bytes received while paused; parsed on resume.
    var held = ByteBuffer()
    /// Loop time of the last frame received.
    var lastActivity: UInt64
    /// A ping was sent since `lastActivity`.
    var pingOutstanding = false
    /// SIGTERM: close with 1001 once in-flight calls are answered.
    var draining = false
    /// `Gateway-Close`: close with this code once in-flight calls are answered.
    var pendingClose: (WebSocketCloseCode, String)?
    /// Trace id from the handshake's `traceparent`: backend calls continue the client's trace.
    var traceID: String?
    /// The user id (`Gateway-Set-User`), if known.
    var user: String?
    /// Rooms joined (`Gateway-Join`), in join order.
    var rooms: [String] = []
    /// Handshake headers that some route may forward to backends: lower-cased name and the
    /// ready `Name: value` line.
    var forwardable: [(lower: String, name: String, value: String)] = []
    /// Close code and reason for the disconnect hook: the one received, or the one we sent.
    var closeCode: WebSocketCloseCode?
    var closeReason: String?
    let openedAt: UInt64
    /// Token bucket for `messagesPerSecond`: tokens scaled by 1e9 (so refills stay integral).
    var rateTokens: UInt64 = .max
    var rateRefilledAt: UInt64 = 0

    /// Takes one message from the token bucket; false when the client is over its rate.
    func allowMessage(now: UInt64, perSecond: Int, burst: Int) -> Bool {
        guard perSecond > 0 else { return true }
        let scale: UInt64 = 1_000_000_000
        let cap = UInt64(burst) * scale
        if rateTokens == .max {
            rateTokens = cap
        } else {
            let elapsed = now &- rateRefilledAt
            rateTokens = min(cap, rateTokens &+ elapsed &* UInt64(perSecond))
        }
        rateRefilledAt = now
        guard rateTokens >= scale else { return false }
        rateTokens -= scale
        return true
    }

    init(module: ModuleRuntime, maxMessageBytes: Int, now: UInt64) {
        self.module = module
        self.reader = WebSocketFrameReader(maxMessageBytes: maxMessageBytes)
        self.lastActivity = now
        self.openedAt = now
    }

    /// Called when the connection's send queue drained (used for close-after-flush decisions).
    func didDrain(_ connection: ClientConnection) {}

    /// Adds rooms (deduplicated, order kept) before the session is indexed (handshake hook).
    func join(_ names: [String]) {
        for n in names where !n.isEmpty && !rooms.contains(n) { rooms.append(n) }
    }
}
