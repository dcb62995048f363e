internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

// TLS as a byte transform between the engine and the handler (DESIGN §9): the engines move
// ciphertext exactly as they move plaintext, so TLS works the same on io_uring and epoll.
extension EventLoop {
    /// Largest plaintext OpenSSL returns from one record (RFC 8446 §5.1), the size of the loop's
    /// scratch buffer that decrypted bytes land in before the handler sees them.
    static let tlsRecordPlaintextBytes = 16 * 1024

    /// How long a connection whose TLS failed lingers to deliver its alert: long enough for a peer
    /// on loopback or a LAN to read it, short enough that garbage costs almost nothing.
    static let tlsFailureLingerNanos: UInt64 = 500_000_000

    /// Gives `c` a server-side TLS session from `context`. False when OpenSSL cannot make one (memory).
    func attachTLS(_ c: TCPConnection, server context: TLSServerContext) -> Bool {
        attach(c, context.makeConnection(writer: tlsRecordWriter, context: Unmanaged.passUnretained(c).toOpaque()))
    }

    /// Gives `c` a client-side TLS session; the handshake starts once the TCP connect completes.
    func attachTLS(_ c: TCPConnection, client context: TLSClientContext, serverName: String?) -> Bool {
        attach(c, context.makeConnection(writer: tlsRecordWriter, context: Unmanaged.passUnretained(c).toOpaque(), serverName: serverName))
    }

    private func attach(_ c: TCPConnection, _ ssl: OpaquePointer?) -> Bool {
        guard let ssl else {
            ERR_clear_error()
            return false
        }
        c.tls = TLSSession(ssl: ssl)
        return true
    }

    /// Ciphertext arrived for `c`: decrypt it record by record into the scratch buffer and hand each
    /// piece to the handler. OpenSSL reads the bytes in place through the BIO and keeps a partial
    /// record in its own buffer, so nothing is left over when it asks for more.
    func tlsReceive(_ c: TCPConnection, _ t: TLSSession, _ bytes: UnsafeMutableRawBufferPointer) {
        guard !t.failed else { return }
        cgw_tls_set_input(t.ssl, bytes.baseAddress, bytes.count)
        // Records OpenSSL writes meanwhile (handshake, tickets, alerts) mark `c` dirty as they are
        // appended (`appendCiphertext`).
        defer { cgw_tls_set_input(t.ssl, nil, 0) }
        if !t.handshakeDone && !tlsHandshake(c, t) { return }
        let scratch = tlsScratch(write: false)
        while c.handler != nil {
            switch c.closeState {
            case .open, .flushing, .lingering: break
            case .closing, .closed: return
            }
            let n = SSL_read(t.ssl, scratch.baseAddress, Int32(scratch.count))
            if n > 0 {
                c.handler?.connectionDidReceive(c, UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(n)]))
                continue
            }
            switch SSL_get_error(t.ssl, n) {
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_ZERO_RETURN:
                // close_notify: the peer finished sending, as a FIN would say.
                deliverEOF(c, error: nil)
                return
            default:
                tlsFailed(c, t, "TLS read")
                return
            }
        }
    }

    /// Advances the handshake with whatever input is set. True once it is complete.
    @discardableResult
    func tlsHandshake(_ c: TCPConnection, _ t: TLSSession) -> Bool {
        let r = SSL_do_handshake(t.ssl)
        if r == 1 {
            t.handshakeDone = true
            tlsHandshakes &+= 1
            if SSL_session_reused(t.ssl) == 1 { tlsResumedHandshakes &+= 1 }
            c.markDirty()  // plaintext written during the handshake (a client's request) can go now
            return true
        }
        if SSL_get_error(t.ssl, r) == SSL_ERROR_WANT_READ { return false }
        tlsHandshakeFailures &+= 1
        tlsFailed(c, t, "TLS handshake")
        return false
    }

    /// Encrypts what the handler queued (called by `flush` before the engine writes). A lone chunk
    /// is encrypted from where it lies, so a shared fan-out frame is never copied in plaintext.
    /// Several small chunks (pipelined replies, a burst of pushes) are gathered into one record
    /// first: every `SSL_write` costs a record's fixed work (cipher setup, header, tag, OpenSSL's
    /// allocations), far more than copying a few hundred bytes.
    /// A graceful close sends `close_notify` after the last byte.
    func tlsEncrypt(_ c: TCPConnection, _ t: TLSSession) {
        guard !t.failed, t.handshakeDone else { return }
        while !t.plaintext.isEmpty {
            var wrote: Int32 = 0
            let out = tlsScratch(write: true)
            var gathered = 0
            var gathering = false
            var done = false
            let chunks = t.plaintext.chunkCount
            _ = t.plaintext.withSpans(max: Self.tlsGatherSpans, lock: false) { span, i in
                if done { return }
                if i == 0 {
                    // Gathered only if a second chunk follows and fits (decided on the next span).
                    if chunks < 2 || span.count >= out.count {
                        wrote = SSL_write(t.ssl, span.baseAddress, Int32(clamping: span.count))
                        done = true
                        return
                    }
                    gathered = span.count
                    return
                }
                if !gathering {
                    guard gathered + span.count <= out.count else {
                        // The second chunk does not fit: the first goes alone, in place.
                        done = true
                        return
                    }
                    gathering = true
                }
                guard gathered + span.count <= out.count else {
                    done = true
                    return
                }
                gathered += span.count
            }
            if wrote == 0 && !gathering {
                // First chunk alone (the second did not fit).
                _ = t.plaintext.withSpans(max: 1, lock: false) { span, _ in
                    wrote = SSL_write(t.ssl, span.baseAddress, Int32(clamping: span.count))
                }
            } else if gathering {
                var at = 0
                _ = t.plaintext.withSpans(max: Self.tlsGatherSpans, lock: false) { span, _ in
                    guard at + span.count <= gathered, let base = span.baseAddress, let dst = out.baseAddress else { return }
                    (dst + at).copyMemory(from: base, byteCount: span.count)
                    at += span.count
                }
                wrote = SSL_write(t.ssl, out.baseAddress, Int32(at))
            }
            guard wrote > 0 else {
                tlsFailed(c, t, "TLS write")
                return
            }
            t.plaintext.consume(Int(wrote), pool: &bufferPool)
        }
        if c.closeState == .flushing && !t.shutdownSent {
            t.shutdownSent = true
            _ = SSL_shutdown(t.ssl)
        }
    }

    /// A fatal TLS error: no more OpenSSL calls on `t`; the alert OpenSSL queued is sent, then the
    /// connection closes after a short linger (bounded cost for a client that sends garbage).
    private func tlsFailed(_ c: TCPConnection, _ t: TLSSession, _ operation: String) {
        t.failed = true
        ERR_clear_error()
        if c.closeError == nil { c.closeError = IOError(operation, errno: EPROTO) }
        t.plaintext.removeAll(pool: &bufferPool)
        if c.closeState == .open {
            c.close(lingerNanos: Self.tlsFailureLingerNanos)
        } else {
            beginClose(engine, c)
        }
    }

    /// Drops `c`'s session and its unencrypted bytes (the connection is closed).
    func detachTLS(_ c: TCPConnection) {
        guard let t = c.tls else { return }
        t.plaintext.removeAll(pool: &bufferPool)
        c.tls = nil
    }

    /// Most queued chunks gathered into one record; beyond it the rest waits for the next record.
    static let tlsGatherSpans = 64

    /// One of the loop's two scratch halves: decrypted records land in the read half before the
    /// handler sees them; small chunks are gathered in the write half (separate, because a handler
    /// may flush while it still reads the decrypted bytes). Allocated by the first TLS connection.
    private func tlsScratch(write: Bool) -> UnsafeMutableRawBufferPointer {
        let s: UnsafeMutableRawBufferPointer
        if let existing = tlsPlaintextScratch {
            s = existing
        } else {
            s = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * Self.tlsRecordPlaintextBytes, alignment: 16)
            tlsPlaintextScratch = s
        }
        let half = Self.tlsRecordPlaintextBytes
        return UnsafeMutableRawBufferPointer(rebasing: write ? s[half...] : s[..<half])
    }
}
