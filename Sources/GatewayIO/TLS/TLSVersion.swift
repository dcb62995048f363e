/// The oldest TLS version a listener accepts. TLS 1.0 and 1.1 are not offered at all (RFC 8996
/// deprecates them), so the choice is between 1.2 (what every client of the last decade speaks) and 1.3.
public enum TLSVersion: String, Sendable, Equatable {
    /// TLS 1.2 and 1.3.
    case tls12 = "1.2"
    /// TLS 1.3 only.
    case tls13 = "1.3"

    var openSSLCode: Int32 {
        switch self {
        case .tls12: 12
        case .tls13: 13
        }
    }
}
