internal import GatewayHTTP1

/// Token auth at connect (DESIGN §9): a module with `auth.jwt` checks the token of a WebSocket
/// handshake or a `POST <module path>` itself, before any hook.
extension HTTPConnection {
    /// The verified claims; nil after answering 401 (no upgrade, no command). Modules without
    /// `auth.jwt` get empty claims.
    func verifiedClaims(_ head: HTTPRequestHead, _ module: ModuleRuntime, close: Bool) -> JWTClaims?? {
        guard let settings = module.config.jwt else { return .some(nil) }
        let query = AdminQuery(String(head.query))
        let token = JWTVerifier.token(in: settings, header: { head.headers[$0] }, query: { query[$0] })
        do throws(JWTError) {
            guard let token else { throw .missing }
            return .some(try JWTVerifier.verify(token, settings, nowSeconds: WallClock.ms() / 1000))
        } catch {
            var extra = HTTPHeaders()
            extra.add(name: "WWW-Authenticate", value: "Bearer error=\"invalid_token\"")
            respond(status: 401, body: "{\"error\":\(Self.jsonString(error.description))}", contentType: "application/json",
                    close: close, extraHeaders: extra)
            return nil
        }
    }
}
