public import GatewayBuffers
internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// One accepted TCP connection, owned by one event loop. Only that loop's thread may touch it.
///
/// Writes are optimistic and batched: `write` appends to the send queue and marks the connection
/// dirty; at the end of the loop tick every dirty connection is flushed with one `sendmsg` (epoll) or
/// one queued send operation (io_uring, submitted with everything else in one `io_uring_enter`).
public final class TCPConnection {
    // Stored properties are laid out in declaration order: the narrow ones come first, together,
    // so that padding does not grow the object (184 -> 152 bytes, issue 13: an idle connection's
    // memory).

    /// The socket descriptor (owned by this object until it closes).
    public let fd: Int32
    /// The connection's index in its loop's table (and in each engine's slot tables).
    package let slot: UInt32
    /// Distinguishes this connection from earlier ones in the same slot (24 bits, see `UserData`).
    package let generation: UInt32

    // Loop state (loop thread only). The engines read these and keep their own bookkeeping (what is
    // armed, in flight or registered) in their own tables.
    var isDirty = false
    /// Where the connection is in its life.
    package internal(set) var closeState: CloseState = .open
    /// `pauseReading()` is in force.
    package internal(set) var readPaused = false
    /// The peer's EOF (or a receive error) was seen.
    package internal(set) var eof = false
    /// An outgoing connect is in progress (no reading or writing until it completes).
    package internal(set) var connecting = false
    /// `tls != nil`, kept as a plain flag: the per-message paths test it without touching (retaining)
    /// the session, so connections without TLS pay one load and branch (callgrind: the optional
    /// binding cost ~45 instructions per echoed message).
    private(set) var usesTLS = false
    /// When true, `connectionDidDrain` is called once the send queue becomes empty.
    public var notifyWhenDrained = false
    /// Sweeps since the connection last wrote (saturating): after `EventLoop.idleSweepsBeforeTrim`
    /// of them the empty send queue gives its storage back (`trimIfIdle`).
    var idleSweeps: UInt8 = 0

    /// The loop this connection lives on. `unowned(unsafe)`: a connection never outlives its loop
    /// (the loop closes and drops every connection before it goes away), and the checked `unowned`
    /// costs an atomic retain/release on every access of this hot reference.
    public unowned(unsafe) let loop: EventLoop
    /// The peer's address.
    public let remoteAddress: SocketAddress?
    /// Receives this connection's events.
    public var handler: (any ConnectionHandler)?
    /// Time (loop clock, nanoseconds) at which `connectionDidTimeOut` fires; `0` means no deadline.
    /// Checked by the loop's sweep, so it fires up to `EventLoop.sweepIntervalNanos` late.
    public var deadline: UInt64 = 0
    /// Free for the handler's use (e.g. an index into its own tables).
    public var userTag: Int = 0
    /// Bytes waiting to be written (ciphertext when `tls` is set).
    package var outbound = OutboundQueue()
    /// The TLS session when the connection is TLS; the handler's writes then wait in its plaintext
    /// queue until the loop encrypts them into `outbound` at flush time.
    var tls: TLSSession? {
        didSet { usesTLS = tls != nil }
    }
    /// Why the connection closed, when an error closed it; boxed, because it is rare and an inline
    /// `IOError?` takes 24 bytes of every connection.
    var closeError: IOError? {
        get { closeErrorBox?.error }
        set { closeErrorBox = newValue.map(CloseErrorBox.init) }
    }
    private var closeErrorBox: CloseErrorBox?
    var lingerDeadline: UInt64 = 0

    /// Whether the connection should be receiving: not paused, not at EOF, not connecting, not
    /// closing. What an engine checks before it arms a receive.
    package var wantsToReceive: Bool {
        guard !readPaused, !eof, !connecting else { return false }
        switch closeState {
        case .closing, .closed: return false
        case .open, .flushing, .lingering: return true
        }
    }

    /// The stages of closing.
    package enum CloseState {
        case open
        /// Flush the queue, then shut down writing and wait for the peer's EOF (bounded).
        case flushing
        case lingering
        /// Waiting for in-flight io_uring operations before the descriptor can be closed.
        case closing
        case closed
    }

    init(fd: Int32, loop: EventLoop, slot: UInt32, generation: UInt32, remoteAddress: SocketAddress?) {
        self.fd = fd
        self.loop = loop
        self.slot = slot
        self.generation = generation
        self.remoteAddress = remoteAddress
    }

    /// Bytes queued and not yet written.
    public var queuedBytes: Int {
        guard usesTLS, let t = tls else { return outbound.count }
        return outbound.count + t.plaintext.count
    }

    /// Whether the connection runs TLS (the handler sees plaintext either way).
    public var isTLS: Bool { usesTLS }

    /// The ALPN protocol a TLS handshake settled on (`http/1.1`), or nil without TLS or ALPN.
    public var tlsALPN: String? {
        guard let t = tls, t.handshakeDone else { return nil }
        let p = t.alpn
        return p.isEmpty ? nil : p
    }

    /// Whether the connection still accepts writes.
    public var isWritable: Bool { closeState == .open }

    /// Whether the connection is open (not closing or closed). The same as `isWritable` today; kept
    /// as its own name because callers ask two different questions.
    public var isOpen: Bool { closeState == .open }

    /// Appends bytes to the send queue through `body`, which writes into a pooled buffer.
    /// Ignored (returns nil) once `close()` or `abort()` was called: what was queued before is sent,
    /// nothing after.
    @discardableResult
    public func write<R>(_ body: (inout ByteBuffer) throws -> R) rethrows -> R? {
        guard closeState == .open else { return nil }
        if usesTLS { return try writePlaintext(body) }
        let r = try withLoop { try outbound.append(pool: &$0.bufferPool, body) }
        markDirty()
        return r
    }

    /// `write` for a body that returns nothing, the usual case. Not generic, so that a caller in
    /// another module does not go through the generic entry point, which handles its `R?` result by
    /// value witnesses (callgrind, S2: ~50 instructions per message).
    public func write(_ body: (inout ByteBuffer) -> Void) {
        guard closeState == .open else { return }
        if usesTLS {
            writePlaintext(body)
            return
        }
        withLoop { outbound.append(pool: &$0.bufferPool, body) }
        markDirty()
    }

    /// `write` on a TLS connection: into the plaintext queue the loop encrypts at flush time. Out of
    /// line so that the plain path stays as short as it was before TLS existed.
    @inline(never)
    private func writePlaintext<R>(_ body: (inout ByteBuffer) throws -> R) rethrows -> R? {
        guard let tls else { return nil }
        let r = try withLoop { try tls.plaintext.append(pool: &$0.bufferPool, body) }
        markDirty()
        return r
    }

    /// Appends a copy of `bytes` to the send queue.
    public func write(bytes: UnsafeRawBufferPointer) {
        write { $0.write(bytes) }
    }

    /// Appends a shared, immutable frame to the send queue without copying it.
    public func write(shared: SharedBytes) {
        guard closeState == .open else { return }
        if usesTLS, let tls {
            tls.plaintext.append(shared: shared)
        } else {
            outbound.append(shared: shared)
        }
        markDirty()
    }

    /// Appends a TLS record OpenSSL produced (the handshake, data, alerts, `close_notify`). Allowed
    /// while closing too: a graceful close ends with records.
    func appendCiphertext(_ bytes: UnsafeRawBufferPointer) {
        switch closeState {
        case .open, .flushing, .lingering: break
        case .closing, .closed: return
        }
        withLoop { outbound.append(pool: &$0.bufferPool) { $0.write(bytes) } }
        markDirty()
    }

    /// Stops delivering received bytes until `resumeReading()` (backpressure). Bytes already in
    /// flight may still be delivered.
    public func pauseReading() {
        guard !readPaused else { return }
        readPaused = true
        loop.engineUpdateReading(self)
    }

    /// Resumes delivering received bytes.
    public func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        loop.engineUpdateReading(self)
    }

    /// Closes gracefully: writes what is queued, shuts down the write side, then waits (at most
    /// `lingerNanos`) for the peer to close so that a final frame is not destroyed by a reset.
    /// - Parameter lingerNanos: 2 s by default: enough for a peer on a slow link to read a final
    ///   frame and answer with its FIN, short enough that a vanished peer does not hold the slot.
    public func close(lingerNanos: UInt64 = 2_000_000_000) {
        guard closeState == .open else { return }
        closeState = .flushing
        lingerDeadline = loop.now &+ lingerNanos
        readPaused = false
        loop.engineUpdateReading(self)
        markDirty()
    }

    /// Called by the loop's sweep: counts a sweep without writes and, after enough of them, frees
    /// the empty send queues' storage, so that an idle connection holds no buffers.
    func trimIfIdle(after sweeps: UInt8) {
        if idleSweeps < sweeps {
            idleSweeps += 1
            return
        }
        guard !isDirty, outbound.isEmpty else { return }
        outbound.releaseStorageIfEmpty()
        if usesTLS, let tls, tls.plaintext.isEmpty { tls.plaintext.releaseStorageIfEmpty() }
    }

    /// Closes now, dropping anything still queued.
    public func abort(error: IOError? = nil) {
        if closeError == nil { closeError = error }
        loop.beginClose(loop.engine, self)
    }

    func markDirty() {
        idleSweeps = 0
        if !isDirty {
            isDirty = true
            withLoop { $0.dirty.append(self) }
        }
    }

    /// Runs `body` with the loop, not retained: a mutation through the `unowned(unsafe)` reference
    /// itself (`&loop.bufferPool`) retains and releases it around the access, on every write. The
    /// loop outlives its connections.
    @inline(__always)
    func withLoop<R>(_ body: (EventLoop) throws -> R) rethrows -> R {
        try Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef(body)
    }
}

/// `TCPConnection.closeError` out of line.
private final class CloseErrorBox {
    let error: IOError
    init(_ error: IOError) { self.error = error }
}
