internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

// Connection life: register, accept, connect, drain, close. Generic helpers take the engine as a
// parameter: the tick passes its concrete engine (direct calls), the public API passes `engine`
// (the enum, one switch).
extension EventLoop {
    /// Unsent bytes the kernel may hold per socket. Without a cap the send buffer autotunes to
    /// megabytes, which hides a client that stopped reading from `sendQueueBytes`: the kernel
    /// swallows the backlog. 128 KiB keeps throughput on fast links and bounds what hides there.
    public static let notSentLowWater: Int32 = 128 * 1024

    /// Opens an outgoing TCP connection (load generators, tests). `handler` gets
    /// `connectionDidConnect` when it is established, or `connectionDidClose` with the error.
    /// - Throws: when no socket can be created (e.g. `EMFILE`: out of file descriptors).
    /// With `tls`, the connection is a TLS client: the handshake runs once TCP is up (sending
    /// `serverName` as SNI), and bytes the handler writes before it ends wait for it.
    @discardableResult
    public func connect(
        to address: SocketAddress, handler: any ConnectionHandler, tls: TLSClientContext? = nil, serverName: String? = nil
    ) throws(IOError) -> TCPConnection {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if engine.usesNonBlockingSockets { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = try Syscall.call("socket") { socket(address.family, type, 0) }
        Syscall.tuneOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let c = register(engine, fd: fd, peer: address)
        c.handler = handler
        c.connecting = true
        if let tls, !attachTLS(c, client: tls, serverName: serverName) {
            c.abort(error: IOError("TLS session", errno: ENOMEM))
            return c
        }
        do {
            try engine.startConnect(c, to: address)
        } catch {
            c.abort(error: error)
        }
        return c
    }

    func register<E: IOEngine>(_ e: E, fd: Int32, peer: SocketAddress?) -> TCPConnection {
        Syscall.tuneOption(fd, Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, Self.notSentLowWater)
        let slot: UInt32
        if let s = freeSlots.popLast() {
            slot = s
        } else {
            slot = UInt32(connections.count)
            connections.append(nil)
            generations.append(0)
        }
        generations[Int(slot)] = (generations[Int(slot)] &+ 1) & 0xFF_FFFF
        let c = TCPConnection(fd: fd, loop: self, slot: slot, generation: generations[Int(slot)], remoteAddress: peer)
        connections[Int(slot)] = c
        connectionCount += 1
        e.open(c)
        return c
    }

    func acceptedDescriptor<E: IOEngine>(_ e: E, _ fd: Int32, listener: Listener) {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        // ENOTCONN when the peer already reset: the connection still goes through, without an address.
        let peer: SocketAddress? = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                (try? Syscall.call("getpeername") { getpeername(fd, sa, &len) }) != nil ? SocketAddress(storage: p) : nil
            }
        }
        Syscall.tuneOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let c = register(e, fd: fd, peer: peer)
        if let tls = listener.tls, !attachTLS(c, server: tls) {
            c.abort(error: IOError("TLS session", errno: ENOMEM))
            return
        }
        listener.handler.accepted(c)
        if c.handler == nil && c.closeState == .open {
            c.abort()
            return
        }
        if c.closeState == .open || c.closeState == .flushing {
            startReading(e, c)
        }
    }

    /// Pauses accepting on `l` after descriptor or memory exhaustion and retries after a backoff,
    /// rather than spinning on an accept that keeps failing.
    func pauseAccepting<E: IOEngine>(_ e: E, _ l: Listener) {
        e.removeListener(fd: l.fd, id: l.id)
        if l.retryTimer == nil {
            l.retryTimer = makeTimer { [unowned self, unowned l] in
                if !l.closed { try? self.engine.addListener(fd: l.fd, id: l.id) }
            }
        }
        l.retryTimer?.schedule(afterNanos: Listener.descriptorExhaustionBackoffNanos)
    }

    /// An outgoing connect finished successfully.
    func connected<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        c.connecting = false
        if let t = c.tls { tlsHandshake(c, t) }  // the ClientHello
        c.handler?.connectionDidConnect(c)
        if c.closeState == .open {
            startReading(e, c)
            if !c.outbound.isEmpty { c.markDirty() }
        }
    }

    @inline(__always)
    func startReading<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        do { try e.startReading(c) } catch { c.abort(error: error) }
    }

    @inline(__always)
    func updateReading<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        do { try e.updateReading(c) } catch { c.abort(error: error) }
    }

    /// `TCPConnection.pauseReading`/`resumeReading`/`close` changed what the engine should read.
    func engineUpdateReading(_ c: TCPConnection) {
        updateReading(engine, c)
    }

    /// Writes or queues `c`'s send queue, if it may send.
    @inline(__always)
    func flush<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        guard !c.connecting else { return }
        switch c.closeState {
        case .open, .flushing: break
        default: return
        }
        if c.usesTLS, let t = c.tls { tlsEncrypt(c, t) }
        switch e.flush(c, pool: &bufferPool, sent: &bytesSent) {
        case .drained:
            // With TLS, plaintext can still wait for the handshake: not drained yet.
            if c.usesTLS, let t = c.tls, !t.plaintext.isEmpty { break }
            didDrain(c)
        case .pending:
            break
        case .failed(let operation, let errno):
            c.abort(error: IOError(operation.description, errno: errno))
        }
    }

    /// The send queue of `c` became empty.
    func didDrain(_ c: TCPConnection) {
        if c.notifyWhenDrained && c.closeState == .open {
            c.notifyWhenDrained = false
            c.handler?.connectionDidDrain(c)
        }
        if c.closeState == .flushing {
            c.closeState = .lingering
            // ENOTCONN once the peer reset: the close goes on regardless.
            _ = try? Syscall.call("shutdown") { Glibc.shutdown(c.fd, Int32(SHUT_WR)) }
            if c.eof { beginClose(engine, c) }
        }
    }

    /// Starts closing `c` now: stops I/O and, once no kernel operation refers to it, closes the
    /// descriptor and tells the handler. The final step always runs after the current batch of events,
    /// never inside a handler call.
    func beginClose<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        switch c.closeState {
        case .closing, .closed: return
        default: break
        }
        c.closeState = .closing
        e.cancelOperations(c)
        pendingCloses.append(c)
    }

    /// An operation of a closing connection completed; finish if it was the last one.
    func operationFinished<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        if c.closeState == .closing && !e.hasOperationsInFlight(c) {
            pendingCloses.append(c)
        }
    }

    func processPendingCloses<E: IOEngine>(_ e: E) {
        while !pendingCloses.isEmpty {
            let batch = pendingCloses
            pendingCloses.removeAll(keepingCapacity: true)
            for c in batch where c.closeState == .closing && !e.hasOperationsInFlight(c) {
                finishClose(c)
            }
        }
    }

    private func finishClose(_ c: TCPConnection) {
        c.closeState = .closed
        Syscall.close(c.fd)
        c.outbound.removeAll(pool: &bufferPool)
        detachTLS(c)
        let s = Int(c.slot)
        if s < connections.count, connections[s] === c {
            connections[s] = nil
            freeSlots.append(c.slot)
        }
        connectionCount -= 1
        let h = c.handler
        c.handler = nil
        h?.connectionDidClose(c, error: c.closeError)
    }
}
