internal import GatewayIO

/// The state of a WebSocket connection that most connections never use, kept out of line and
/// allocated on first use, so that an idle connection without it pays one nil reference (8 bytes)
/// instead of the 56 bytes these fields took inline (issue 13, S4: bytes per idle connection).
/// What decides whether a connection gets one: a `traceparent` in its handshake, handshake headers
/// its module forwards, a token with `exp` (`auth.jwt`), or `limits.messagesPerSecond` > 0 (from
/// its first message on).
final class WebSocketExtras {
    /// Trace id from the handshake's `traceparent`: backend calls continue the client's trace.
    var traceID: String?
    /// Handshake headers that some route may forward to backends.
    var forwardable: [ForwardableHeader] = []
    /// Closes the connection when its token expires (`auth.jwt`).
    var expiryTimer: LoopTimer?
    /// `limits.messagesPerSecond` for this connection.
    var rateLimiter = MessageRateLimiter()

    deinit {
        expiryTimer?.cancel()
    }
}
