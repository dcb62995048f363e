internal import GatewayHTTP1

/// Token auth at connect (DESIGN §9): a module with `auth.jwt` checks the token of a WebSocket
/// handshake or a `POST <module path>` itself, before any hook.
extension HTTPConnection {
    /// The verified claims; nil after answering 401 (no upgrade, no command). Modules without
    /// `auth.jwt` get empty claims. The token is found and checked in the request's bytes, with the
    /// loop's `JWTScratch`: no String but the claims' `sub` and `rooms`.
    func verifiedClaims(_ head: HTTPRequestHead, _ module: ModuleRuntime, close: Bool) -> JWTClaims?? {
        guard let settings = module.config.jwt else { return .some(nil) }
        let scratch = context.jwt
        let verdict = Self.withQuery(of: head) { query in
            JWTVerifier.withToken(in: settings, header: { head.headers[$0] }, query: { name in
                QueryString.firstValue(named: name, in: query, into: scratch.queryBuffer(atLeast: query.count))
            }) { token in
                Result { () throws(JWTError) -> JWTClaims in
                    guard let token else { throw .missing }
                    return try JWTVerifier.verify(token, settings, nowSeconds: WallClock.ms() / 1000, scratch: scratch)
                }
            }
        }
        switch verdict {
        case .success(let claims):
            return .some(claims)
        case .failure(let error):
            var extra = HTTPHeaders()
            extra.add(name: "WWW-Authenticate", value: "Bearer error=\"invalid_token\"")
            respond(status: 401, body: "{\"error\":\(Self.jsonString(error.description))}", contentType: "application/json",
                    close: close, extraHeaders: extra)
            return nil
        }
    }

    /// The bytes of the request's query (after the first `?` of an origin-form target, which is
    /// visible ASCII; `head.query` for the other forms), empty when it has none.
    static func withQuery<R>(of head: HTTPRequestHead, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var text = head.target.utf8.first == UInt8(ascii: "/") ? head.target : "?" + head.query
        return text.withUTF8 { t in
            let raw = UnsafeRawBufferPointer(t)
            guard let q = raw.firstIndex(of: UInt8(ascii: "?")) else { return body(UnsafeRawBufferPointer(rebasing: raw[0..<0])) }
            return body(UnsafeRawBufferPointer(rebasing: raw[(q + 1)...]))
        }
    }
}
