internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// An IPv4 or IPv6 address and port, parsed from `host:port` (`[v6]:port` for IPv6).
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    /// The two address families the gateway listens on and accepts from.
    public enum Host: Sendable, Equatable {
        /// IPv4, four bytes in network order.
        case v4(UInt8, UInt8, UInt8, UInt8)
        /// IPv6, sixteen bytes in network order.
        case v6([UInt8])
    }

    /// The host address.
    public var host: Host
    /// The TCP port.
    public var port: UInt16

    /// Creates an address.
    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `0.0.0.0:8080`, `127.0.0.1:9000`, `[::1]:8080` or `localhost:8080` (= 127.0.0.1).
    /// Returns nil when the text is not one of those forms.
    public init?(parsing text: String) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !portPart.isEmpty, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portPart) else { return nil }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        if hostPart.contains(":") {
            var a = in6_addr()
            let ok = String(hostPart).withCString { inet_pton(AF_INET6, $0, &a) } == 1
            guard ok else { return nil }
            self.host = .v6(withUnsafeBytes(of: a) { Array($0) })
        } else {
            var a = in_addr()
            let ok = String(hostPart).withCString { inet_pton(AF_INET, $0, &a) } == 1
            guard ok else { return nil }
            let b = withUnsafeBytes(of: a) { Array($0) }
            self.host = .v4(b[0], b[1], b[2], b[3])
        }
        self.port = port
    }

    /// Reads an address from a `sockaddr_storage` filled by accept/getpeername.
    init?(storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in.self).pointee
            let b = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
            self.host = .v4(b[0], b[1], b[2], b[3])
            self.port = UInt16(bigEndian: sin.sin_port)
        case AF_INET6:
            let sin6 = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in6.self).pointee
            let b = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            // Show v4-mapped addresses (::ffff:a.b.c.d) as plain IPv4.
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
                self.host = .v4(b[12], b[13], b[14], b[15])
            } else {
                self.host = .v6(b)
            }
            self.port = UInt16(bigEndian: sin6.sin6_port)
        default:
            return nil
        }
    }

    /// The address family constant.
    var family: Int32 {
        switch host {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// Calls `body` with a sockaddr for bind/connect.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch host {
        case let .v4(a, b, c, d):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { raw in
                raw[0] = a; raw[1] = b; raw[2] = c; raw[3] = d
            }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case let .v6(bytes):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for i in 0..<min(16, bytes.count) { raw[i] = bytes[i] }
            }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    /// The host part only (`127.0.0.1`, `::1`), as used in `remoteAddress` and `X-Forwarded-For`.
    public var hostString: String {
        switch host {
        case let .v4(a, b, c, d):
            // Written digit by digit: every accepted connection formats its address (admission
            // counts per address), and interpolation cost 1,600 instructions.
            return String(unsafeUninitializedCapacity: 15) { out in
                var o = 0
                func put(_ x: UInt8, dot: Bool) {
                    if x >= 100 { out[o] = 0x30 + x / 100; o += 1 }
                    if x >= 10 { out[o] = 0x30 + x / 10 % 10; o += 1 }
                    out[o] = 0x30 + x % 10
                    o += 1
                    if dot { out[o] = UInt8(ascii: "."); o += 1 }
                }
                put(a, dot: true)
                put(b, dot: true)
                put(c, dot: true)
                put(d, dot: false)
                return o
            }
        case let .v6(bytes):
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) { raw in for i in 0..<min(16, bytes.count) { raw[i] = bytes[i] } }
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
            return String(nulTerminated: buf)
        }
    }

    /// `host:port`, with brackets for IPv6.
    public var description: String {
        switch host {
        case .v4: "\(hostString):\(port)"
        case .v6: "[\(hostString)]:\(port)"
        }
    }
}
