/// Why a WebSocket connection must be failed (RFC 6455 §7.1.7). Each case maps to the close code the
/// server sends before closing the TCP connection (`closeCode`).
public enum WebSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A client frame arrived without a mask (RFC 6455 §5.1: the server must close the connection).
    case unmaskedFrame
    /// RSV1–RSV3 were set but no extension was negotiated (RFC 6455 §5.2). Holds the bits as they
    /// appear in the first header byte (`0x40`, `0x20`, `0x10`).
    case reservedBitsSet(UInt8)
    /// A reserved opcode (3–7, 11–15) (RFC 6455 §5.2).
    case reservedOpcode(UInt8)
    /// A control frame without FIN (RFC 6455 §5.5: control frames must not be fragmented).
    case fragmentedControlFrame(WebSocketOpcode)
    /// A control frame with a payload longer than 125 bytes (RFC 6455 §5.5).
    case controlFrameTooLong
    /// A continuation frame arrived when no fragmented message was in progress (RFC 6455 §5.4).
    case unexpectedContinuation
    /// A text or binary frame arrived while a fragmented message was still in progress (RFC 6455 §5.4).
    case newMessageDuringFragmentedMessage(WebSocketOpcode)
    /// A close frame with a one-byte payload: too short for a status code (RFC 6455 §5.5.1).
    case closePayloadTooShort
    /// A close frame whose status code may not be sent (RFC 6455 §7.4).
    case invalidCloseCode(UInt16)
    /// A 64-bit payload length with the most significant bit set (RFC 6455 §5.2).
    case payloadLengthOverflow
    /// A text message that is not valid UTF-8 (RFC 6455 §8.1).
    case invalidUTF8
    /// A close frame whose reason is not valid UTF-8 (RFC 6455 §5.5.1).
    case invalidCloseReason
    /// A frame or an assembled message longer than the reader's limit. `length` is the size that
    /// was announced (frame length, or bytes assembled so far plus the frame length).
    case messageTooBig(length: UInt64, limit: Int)
    /// RSV1 (a compressed message, RFC 7692 §6) on a control frame or a continuation frame: only the
    /// first frame of a data message may set it (§6.1).
    case misplacedCompressionBit(WebSocketOpcode)
    /// A compressed message that is not valid deflate data (RFC 7692 §7.2.2).
    case invalidCompressedData
    /// A compressed message that inflates to more than the limit; noticed while inflating, so the
    /// memory never exceeds the limit.
    case inflatedMessageTooBig(limit: Int)
    /// zlib could not allocate its state for a compressed message.
    case compressionUnavailable

    /// The close code to send when failing the connection for this error: 1007 for invalid UTF-8 and
    /// invalid deflate data (the payload is not what its type says), 1009 for size limits (inflated
    /// or not), 1011 when zlib has no memory, 1002 for everything else (RFC 6455 §7.4.1).
    public var closeCode: WebSocketCloseCode {
        switch self {
        case .invalidUTF8, .invalidCloseReason, .invalidCompressedData: .invalidPayload
        case .messageTooBig, .inflatedMessageTooBig: .messageTooBig
        case .compressionUnavailable: .internalError
        case .unmaskedFrame, .reservedBitsSet, .reservedOpcode, .fragmentedControlFrame, .controlFrameTooLong,
            .unexpectedContinuation, .newMessageDuringFragmentedMessage, .closePayloadTooShort,
            .invalidCloseCode, .payloadLengthOverflow, .misplacedCompressionBit:
            .protocolError
        }
    }

    /// A sentence for logs and the close reason.
    public var description: String {
        switch self {
        case .unmaskedFrame: "client frame is not masked"
        case .reservedBitsSet(let bits): "reserved bits set (0x\(String(bits, radix: 16))) without a negotiated extension"
        case .reservedOpcode(let opcode): "reserved opcode \(opcode)"
        case .fragmentedControlFrame(let opcode): "fragmented \(opcode) frame"
        case .controlFrameTooLong: "control frame payload longer than 125 bytes"
        case .unexpectedContinuation: "continuation frame without a message in progress"
        case .newMessageDuringFragmentedMessage(let opcode): "\(opcode) frame while a fragmented message is in progress"
        case .closePayloadTooShort: "close frame payload of 1 byte"
        case .invalidCloseCode(let code): "invalid close code \(code)"
        case .payloadLengthOverflow: "64-bit payload length with the most significant bit set"
        case .invalidUTF8: "text message is not valid UTF-8"
        case .invalidCloseReason: "close reason is not valid UTF-8"
        case .messageTooBig(let length, let limit): "message of \(length) bytes exceeds the limit of \(limit)"
        case .misplacedCompressionBit(let opcode): "RSV1 set on a \(opcode) frame (only the first frame of a message may be compressed)"
        case .invalidCompressedData: "compressed message is not valid deflate data"
        case .inflatedMessageTooBig(let limit): "compressed message inflates to more than the limit of \(limit) bytes"
        case .compressionUnavailable: "no memory to inflate a compressed message"
        }
    }
}
