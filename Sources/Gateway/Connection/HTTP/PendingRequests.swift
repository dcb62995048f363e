internal import GatewayHTTP1
internal import GatewayWebSocket

/// A WebSocket handshake that passed the RFC checks and waits for the module's hook.
struct PendingUpgrade {
    let request: WebSocketHandshakeRequest
    let module: ModuleRuntime
    let subprotocol: String?
    let head: HTTPRequestHead
    /// The verified token's claims, when the module checks tokens (`auth.jwt`).
    var claims: JWTClaims? = nil
    /// The permessage-deflate parameters agreed, when the module compresses and an offer was acceptable.
    var deflate: PerMessageDeflateParameters? = nil
}

/// A `POST <module path>` command that is parsed and routed, waiting for authorization or for its
/// backend call.
struct PendingCommand {
    let head: HTTPRequestHead
    let module: ModuleRuntime
    let route: Route
    let command: String
    let id: String?
    /// Byte range of `data` in the exchange's `requestBody`.
    let data: Range<Int>
    /// The verified token's claims, when the module checks tokens (`auth.jwt`).
    var claims: JWTClaims? = nil
}
