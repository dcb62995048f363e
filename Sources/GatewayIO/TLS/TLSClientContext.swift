internal import CGatewayShims

/// Settings for outgoing TLS connections made on the gateway's own loops (the load generator, tests).
/// Backend calls over `https://` do not use it: they go through libcurl, which has its own TLS.
public final class TLSClientContext: @unchecked Sendable {
    // @unchecked: the context is set up once in `init` and only read afterwards (OpenSSL 3 contexts
    // are safe to share between threads once configured).
    private let ctx: OpaquePointer

    /// - Parameters:
    ///   - verifyPeer: check the server's certificate and name. Off only for load generators against
    ///     self-signed test certificates; say so where it is turned off.
    ///   - caFile: PEM file of trusted CAs; nil uses the system store.
    /// - Throws: `TLSError` when the CA file cannot be read.
    public init(verifyPeer: Bool, caFile: String? = nil) throws(TLSError) {
        var err = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? =
            if let caFile { cgw_tls_client_ctx(verifyPeer ? 1 : 0, caFile, &err, err.count) } else { cgw_tls_client_ctx(verifyPeer ? 1 : 0, nil, &err, err.count) }
        guard let made else {
            throw TLSError(cString: err)
        }
        ctx = made
    }

    deinit {
        SSL_CTX_free(ctx)
    }

    /// A client-side OpenSSL connection; `serverName` is sent as SNI and checked when verifying.
    func makeConnection(writer: cgw_tls_write_fn, context: UnsafeMutableRawPointer, serverName: String?) -> OpaquePointer? {
        if let serverName { return cgw_tls_new(ctx, 0, writer, context, serverName) }
        return cgw_tls_new(ctx, 0, writer, context, nil)
    }
}
