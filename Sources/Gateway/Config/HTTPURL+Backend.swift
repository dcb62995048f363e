internal import GatewayHTTP1

extension HTTPURL {
    /// Whether `s` is a URL the gateway can call a backend at: absolute `http://` or `https://`
    /// (DESIGN §2), as `HTTPURL` parses it.
    static func isValid(_ s: String) -> Bool {
        (try? HTTPURL(s, schemes: ["http", "https"])) != nil
    }
}
