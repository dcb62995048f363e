public import GatewayHTTP1

/// Why an upgrade request is not a valid WebSocket opening handshake (RFC 6455 §4.2.1). The server
/// answers with `status` and `responseHeaders` instead of 101.
public enum WebSocketHandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The method is not GET.
    case methodNotGET(HTTPMethod)
    /// The request is older than HTTP/1.1.
    case unsupportedHTTPVersion(HTTPVersion)
    /// `Upgrade` is missing or does not list `websocket`.
    case missingUpgradeHeader
    /// `Connection` is missing or does not list `Upgrade`.
    case missingConnectionUpgrade
    /// `Sec-WebSocket-Version` is missing or not exactly `13`. Holds what was sent.
    case unsupportedWebSocketVersion(String?)
    /// `Sec-WebSocket-Key` is missing.
    case missingKey
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes, or was sent more than once.
    case invalidKey(String)

    /// The HTTP status to answer with: 426 Upgrade Required for a version we do not speak (RFC 6455
    /// §4.2.2), 400 Bad Request otherwise (RFC 6455 §4.2.1).
    public var status: Int {
        switch self {
        case .unsupportedWebSocketVersion: 426
        case .methodNotGET, .unsupportedHTTPVersion, .missingUpgradeHeader, .missingConnectionUpgrade,
            .missingKey, .invalidKey:
            400
        }
    }

    /// Header fields the error response must carry: `Sec-WebSocket-Version: 13` with a 426, telling
    /// the client which version to retry with (RFC 6455 §4.4).
    public var responseHeaders: HTTPHeaders {
        switch self {
        case .unsupportedWebSocketVersion: ["Sec-WebSocket-Version": "13"]
        default: HTTPHeaders()
        }
    }

    /// A sentence for logs and the error response body.
    public var description: String {
        switch self {
        case .methodNotGET(let method): "WebSocket upgrade requires GET, not \(method)"
        case .unsupportedHTTPVersion(let version): "WebSocket upgrade requires HTTP/1.1 or later, not \(version)"
        case .missingUpgradeHeader: "missing 'Upgrade: websocket'"
        case .missingConnectionUpgrade: "missing 'Connection: Upgrade'"
        case .unsupportedWebSocketVersion(let version?): "unsupported Sec-WebSocket-Version '\(version)'; only 13 is supported"
        case .unsupportedWebSocketVersion(nil): "missing Sec-WebSocket-Version; only 13 is supported"
        case .missingKey: "missing Sec-WebSocket-Key"
        case .invalidKey: "Sec-WebSocket-Key must be the base64 encoding of 16 bytes"
        }
    }
}
