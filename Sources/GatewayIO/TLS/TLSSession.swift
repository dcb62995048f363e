internal import CGatewayShims

/// One connection's TLS state, owned by its `TCPConnection` and touched only on its loop.
///
/// The session is a byte transform between the socket and the handler: received ciphertext goes in
/// through the BIO's read side (`EventLoop.tlsReceive`), plaintext comes out into the loop's scratch
/// buffer and on to the handler; what the handler writes waits in `plaintext` until the loop flushes
/// the connection, when it is encrypted straight from its buffers (shared fan-out frames included)
/// into the send queue that the engine writes.
final class TLSSession {
    /// The OpenSSL connection (owns its BIO).
    let ssl: OpaquePointer
    /// Written by the handler, not encrypted yet.
    var plaintext = OutboundQueue()
    /// The handshake finished; application data flows.
    var handshakeDone = false
    /// `close_notify` was queued (once, when a graceful close has flushed the plaintext).
    var shutdownSent = false
    /// A fatal TLS error happened; nothing more is read or encrypted (OpenSSL forbids further calls),
    /// only the alert already queued is sent.
    var failed = false

    init(ssl: OpaquePointer) {
        self.ssl = ssl
    }

    deinit {
        SSL_free(ssl)
    }

    /// The ALPN protocol the handshake settled on (empty when none).
    var alpn: String {
        var out = [CChar](repeating: 0, count: 32)
        cgw_tls_alpn(ssl, &out, out.count)
        return String(nulTerminated: out)
    }
}

/// Where OpenSSL's records go: the connection's send queue, appended in place (no intermediate
/// buffer). `context` is the unretained `TCPConnection` (its session, and so this BIO, dies first).
let tlsRecordWriter: cgw_tls_write_fn = { context, bytes, count in
    guard let context, let bytes else { return }
    let c = Unmanaged<TCPConnection>.fromOpaque(context).takeUnretainedValue()
    c.appendCiphertext(UnsafeRawBufferPointer(start: bytes, count: count))
}
