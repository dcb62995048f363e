internal import CGatewayShims

/// The certificate, key and settings a TLS listener serves, shared by every loop.
///
/// `reload` swaps in a new certificate without touching open connections: each OpenSSL connection
/// holds a reference to the context it was made from, so connections accepted before a reload keep
/// the old certificate and those accepted after get the new one. A reload that fails leaves the
/// current certificate in place.
public final class TLSServerContext: @unchecked Sendable {
    // @unchecked: `current` is only read or replaced under its lock; an `SSL_CTX` is safe to use from
    // several threads once set up (OpenSSL 3 reference-counts it atomically).
    private let current: Locked<OpaquePointer>

    /// Loads `certificatePath` (PEM, leaf first, then intermediates) and `keyPath` (PEM).
    /// - Throws: `TLSError` naming the file that failed and OpenSSL's reason.
    public init(certificatePath: String, keyPath: String, minVersion: TLSVersion = .tls12) throws(TLSError) {
        current = Locked(try Self.load(certificatePath, keyPath, minVersion))
    }

    deinit {
        current.withLock { SSL_CTX_free($0) }
    }

    /// Re-reads the certificate and key (and takes `minVersion`). New connections get them; open ones
    /// keep what they have.
    /// - Throws: `TLSError` when a file is bad; the certificate in use stays.
    public func reload(certificatePath: String, keyPath: String, minVersion: TLSVersion = .tls12) throws(TLSError) {
        let fresh = try Self.load(certificatePath, keyPath, minVersion)
        let old = current.withLock { ctx in
            let o = ctx
            ctx = fresh
            return o
        }
        SSL_CTX_free(old)
    }

    /// A server-side OpenSSL connection over the loop's BIO, from the current certificate.
    func makeConnection(writer: cgw_tls_write_fn, context: UnsafeMutableRawPointer) -> OpaquePointer? {
        current.withLock { cgw_tls_new($0, 1, writer, context, nil) }
    }

    private static func load(_ cert: String, _ key: String, _ minVersion: TLSVersion) throws(TLSError) -> OpaquePointer {
        var err = [CChar](repeating: 0, count: 512)
        guard let ctx = cgw_tls_server_ctx(cert, key, minVersion.openSSLCode, &err, err.count) else {
            throw TLSError(cString: err)
        }
        return ctx
    }
}
