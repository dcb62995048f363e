/// Validation of backend URLs: absolute `http://` or `https://` with a host and an optional port.
enum HTTPURL {
    /// Whether `s` is an absolute http(s) URL libcurl can call.
    static func isValid(_ s: String) -> Bool {
        let lower = s.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") { rest = s.dropFirst(7) } else if lower.hasPrefix("https://") { rest = s.dropFirst(8) } else { return false }
        if s.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) { return false }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.isEmpty || authority.contains("@") { return false }
        var host = authority[...]
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.startIndex...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        if host.isEmpty { return false }
        if let port {
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(port), n > 0, n < 65536 else { return false }
        }
        return true
    }
}
