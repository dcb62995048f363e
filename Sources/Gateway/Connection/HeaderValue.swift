internal import GatewayHTTP1

/// Helpers for header values that come from backends and clients and go into other headers.
enum HeaderValue {
    /// Strips CR, LF and NUL so a value can never inject a header line.
    static func safe(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) { return s }
        return String(s.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }

    /// A comma-separated list (`Gateway-Join: a, b`), trimmed, without empty items.
    static func list(_ header: String) -> [String] {
        header.split(separator: ",").map { String($0).trimmingOWS() }.filter { !$0.isEmpty }
    }
}
