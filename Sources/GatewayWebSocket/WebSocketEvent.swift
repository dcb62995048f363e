/// What `WebSocketFrameReader` delivers. Payload pointers are valid only during the callback: copy
/// what must outlive it.
public enum WebSocketEvent {
    /// A whole text message, already validated as UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A whole binary message.
    case binary(UnsafeRawBufferPointer)
    /// A ping; answer with a pong carrying the same payload (RFC 6455 §5.5.2).
    case ping(UnsafeRawBufferPointer)
    /// A pong.
    case pong(UnsafeRawBufferPointer)
    /// The peer started (or answered) the closing handshake. `code` is nil when the close payload was
    /// empty (report it as 1005 if needed); otherwise it passed `WebSocketCloseCode.isValidReceived`
    /// and `reason` is valid UTF-8.
    case close(code: WebSocketCloseCode?, reason: UnsafeRawBufferPointer)
}

@available(*, unavailable)
extension WebSocketEvent: Sendable {}

/// What the reader does after delivering an event.
public enum WebSocketReaderAction: Sendable {
    /// Keep parsing.
    case proceed
    /// Stop after this event and keep the remaining bytes; call `resume` (or `feed`) to continue.
    /// For backpressure, e.g. while a backend call for the last message is outstanding.
    case pause
}
