/// The 4-bit frame opcode (RFC 6455 §5.2, §11.8).
///
/// Only the opcodes RFC 6455 defines are cases; 3–7 and 11–15 are reserved and a frame carrying one
/// fails the connection (`WebSocketError.reservedOpcode`), so they never reach this type.
public enum WebSocketOpcode: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Continues a fragmented text or binary message (RFC 6455 §5.4).
    case continuation = 0x0
    /// A text message (or its first fragment); the message must be valid UTF-8 (RFC 6455 §5.6).
    case text = 0x1
    /// A binary message (or its first fragment).
    case binary = 0x2
    /// Starts the closing handshake (RFC 6455 §5.5.1).
    case close = 0x8
    /// A keep-alive probe; the peer answers with a pong carrying the same payload (RFC 6455 §5.5.2).
    case ping = 0x9
    /// The answer to a ping, or an unsolicited heartbeat (RFC 6455 §5.5.3).
    case pong = 0xA

    /// Whether this is a control frame (close, ping, pong): the high bit of the opcode is set.
    /// Control frames must not be fragmented and carry at most 125 payload bytes (RFC 6455 §5.5).
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }

    /// The opcode name, for logs.
    public var description: String {
        switch self {
        case .continuation: "continuation"
        case .text: "text"
        case .binary: "binary"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        }
    }
}
