/// A close status code (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry").
///
/// A struct over `UInt16` rather than an enum, so application codes (3000–4999) and codes registered
/// after this was written round-trip unchanged.
public struct WebSocketCloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The numeric code as sent on the wire (big-endian, first two bytes of a close payload).
    public var rawValue: UInt16

    /// Wraps any code. Use `isValidReceived(_:)` to check a code that came from the network.
    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// 1000: the purpose of the connection has been fulfilled (RFC 6455 §7.4.1).
    public static let normalClosure = WebSocketCloseCode(rawValue: 1000)
    /// 1001: the endpoint is going away, e.g. a server shutting down or a browser leaving the page (RFC 6455 §7.4.1).
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    /// 1002: the peer violated the protocol (RFC 6455 §7.4.1).
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    /// 1003: the endpoint received a data type it cannot accept, e.g. binary when it only takes text (RFC 6455 §7.4.1).
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// 1005: reserved; reported locally when a close frame had no status code. Never sent (RFC 6455 §7.4.1).
    public static let noStatus = WebSocketCloseCode(rawValue: 1005)
    /// 1006: reserved; reported locally when the connection dropped without a close frame. Never sent (RFC 6455 §7.4.1).
    public static let abnormal = WebSocketCloseCode(rawValue: 1006)
    /// 1007: a message's data was inconsistent with its type, e.g. invalid UTF-8 in a text message (RFC 6455 §7.4.1).
    public static let invalidPayload = WebSocketCloseCode(rawValue: 1007)
    /// 1008: a message violated the endpoint's policy; the generic code when no other fits (RFC 6455 §7.4.1).
    /// The gateway also uses it for slow consumers whose send queue overflowed (DESIGN.md §7).
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    /// 1009: a message was too big to process (RFC 6455 §7.4.1).
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    /// 1010: sent by a client when the server did not negotiate an extension it requires (RFC 6455 §7.4.1).
    public static let mandatoryExtension = WebSocketCloseCode(rawValue: 1010)
    /// 1011: the server hit an unexpected condition (RFC 6455 §7.4.1).
    public static let internalError = WebSocketCloseCode(rawValue: 1011)
    /// 1012: the service is restarting; the client may reconnect (IANA registry).
    public static let serviceRestart = WebSocketCloseCode(rawValue: 1012)
    /// 1013: temporary overload; the client should reconnect later (IANA registry).
    public static let tryAgainLater = WebSocketCloseCode(rawValue: 1013)
    /// 1014: a gateway or proxy got an invalid response from upstream (IANA registry).
    public static let badGateway = WebSocketCloseCode(rawValue: 1014)

    /// Whether `code`, read from a peer's close frame, may legally appear on the wire (RFC 6455 §7.4.1–§7.4.2).
    ///
    /// Valid: 1000–1003, 1007–1011, 1012–1014 (registered with IANA after the RFC) and 3000–4999
    /// (libraries/frameworks and private use). Invalid: below 1000 (unused), 1004 (reserved), 1005 and
    /// 1006 (local-only), 1015 (TLS failure, local-only), 1016–2999 (reserved for future RFCs but not
    /// yet assigned, so a peer cannot mean anything by them) and 5000 and above (undefined).
    @inlinable
    public static func isValidReceived(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// The number and, for registered codes, its name.
    public var description: String {
        let name: String? = switch rawValue {
        case 1000: "normal closure"
        case 1001: "going away"
        case 1002: "protocol error"
        case 1003: "unsupported data"
        case 1005: "no status"
        case 1006: "abnormal closure"
        case 1007: "invalid payload"
        case 1008: "policy violation"
        case 1009: "message too big"
        case 1010: "mandatory extension"
        case 1011: "internal error"
        case 1012: "service restart"
        case 1013: "try again later"
        case 1014: "bad gateway"
        default: nil
        }
        if let name { return "\(rawValue) (\(name))" }
        return String(rawValue)
    }
}
