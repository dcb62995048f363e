internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

// The one place completions become handler calls. Runs after `wait` returned, over the loop's
// completion buffer, in order; work that handlers submit is reaped in a later tick, never here.
extension EventLoop {
    func dispatch<E: IOEngine>(_ e: E, count: Int) {
        let buffer = completions.storage
        var i = 0
        while i < count {
            handle(e, buffer[i])
            i += 1
        }
        if !receiveBufferExhausted.isEmpty {
            // This batch has handed its buffers back: receive again.
            for c in receiveBufferExhausted { startReading(e, c) }
            receiveBufferExhausted.removeAll(keepingCapacity: true)
        }
    }

    @inline(__always)
    private func handle<E: IOEngine>(_ e: E, _ cq: Completion) {
        switch cq.userData.op {
        case .recv: received(e, cq)
        case .connection: ready(e, cq)
        case .send: sent(e, cq)
        case .sendPoll: writable(e, cq)
        case .accept: acceptCompleted(e, cq)
        case .acceptReady: acceptReady(e, cq)
        case .connect: connectCompleted(e, cq)
        case .watch: watchCompleted(e, cq)
        case .wake, .cancel, .none: break
        }
    }

    /// Looks up a live connection from a completion's user data.
    @inline(__always)
    func connection(for ud: UserData) -> TCPConnection? {
        let s = Int(ud.slot)
        guard s < connections.count, let c = connections[s], c.generation == ud.generation else { return nil }
        return c
    }

    @inline(__always)
    func deliver(_ c: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        bytesReceived &+= UInt64(bytes.count)
        switch c.closeState {
        case .open, .flushing, .lingering:
            if c.usesTLS, let t = c.tls {
                tlsReceive(c, t, bytes)
            } else {
                c.handler?.connectionDidReceive(c, bytes)
            }
        case .closing, .closed:
            break
        }
    }

    func deliverEOF(_ c: TCPConnection, error: IOError?) {
        if c.eof { return }
        c.eof = true
        if let error, c.closeError == nil { c.closeError = error }
        switch c.closeState {
        case .open:
            c.handler?.connectionDidReachEOF(c)
        case .flushing:
            // The peer is gone; nothing more can be delivered.
            if error != nil { beginClose(engine, c) }
        case .lingering:
            beginClose(engine, c)
        case .closing, .closed:
            break
        }
    }

    // MARK: Completion model

    /// A multishot receive produced bytes, EOF or an error.
    @inline(__always)
    private func received<E: IOEngine>(_ e: E, _ cq: Completion) {
        let c = connection(for: cq.userData)
        let res = cq.result
        if let base = e.receivedBytes(cq) {
            if let c, res > 0 {
                deliver(c, UnsafeMutableRawBufferPointer(start: base, count: Int(res)))
            }
            e.recycleBuffer(cq)
        }
        guard let c else { return }
        if res == 0 {
            deliverEOF(c, error: nil)
        } else if res < 0 {
            switch -res {
            case ENOBUFS:
                // Every provided buffer was in use; the receive ended (no F_MORE). Re-armed after
                // this batch, which recycles the buffers it holds.
                receiveBufferExhausted.append(c)
                receiveRearms += 1
            case ECANCELED:
                break
            default:
                deliverEOF(c, error: IOError("recv", errno: -res))
            }
        }
        if !cq.hasMore {
            if c.closeState == .closing {
                operationFinished(e, c)
            } else if res > 0 {
                startReading(e, c)
            } else if res == -ECANCELED && !c.readPaused {
                startReading(e, c)  // resumed while the cancel was in flight
            }
        }
    }

    @inline(__always)
    private func sent<E: IOEngine>(_ e: E, _ cq: Completion) {
        guard let c = connection(for: cq.userData) else { return }
        let res = cq.result
        if c.closeState == .closing {
            c.outbound.unlock()
            operationFinished(e, c)
            return
        }
        if res >= 0 {
            bytesSent &+= UInt64(res)
            c.outbound.consume(Int(res), pool: &bufferPool)
            flush(e, c)
        } else if res == -EAGAIN {
            c.outbound.unlock()
            e.pollWritable(c)
        } else {
            c.outbound.unlock()
            c.abort(error: IOError("send", errno: -res))
        }
    }

    private func writable<E: IOEngine>(_ e: E, _ cq: Completion) {
        guard let c = connection(for: cq.userData) else { return }
        if c.closeState == .closing {
            operationFinished(e, c)
        } else {
            flush(e, c)
        }
    }

    private func acceptCompleted<E: IOEngine>(_ e: E, _ cq: Completion) {
        let id = Int(cq.userData.slot)
        let res = cq.result
        guard id < listeners.count, let l = listeners[id], !l.closed else {
            if res >= 0 { Syscall.close(res) }
            return
        }
        if res >= 0 {
            acceptedDescriptor(e, res, listener: l)
        }
        guard !cq.hasMore else { return }
        switch -res {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            pauseAccepting(e, l)
        case ECANCELED:
            break
        default:
            try? e.addListener(fd: l.fd, id: l.id)
        }
    }

    private func connectCompleted<E: IOEngine>(_ e: E, _ cq: Completion) {
        guard let c = connection(for: cq.userData) else { return }
        if c.closeState == .closing {
            operationFinished(e, c)
            return
        }
        if cq.result < 0 {
            c.abort(error: IOError("connect", errno: -cq.result))
            return
        }
        connected(e, c)
    }

    // MARK: Readiness model

    /// epoll: a connection socket is readable, writable or hung up.
    @inline(__always)
    private func ready<E: IOEngine>(_ e: E, _ cq: Completion) {
        guard let c = connection(for: cq.userData) else { return }
        let ev = cq.flags
        if c.connecting {
            if ev & (Completion.writable | Completion.error | Completion.hangUp) != 0 {
                e.connectFinished(c)
                let err = socketError(c.fd)
                if err != 0 {
                    c.abort(error: IOError("connect", errno: err))
                } else {
                    connected(e, c)
                }
            }
            return
        }
        if c.eof && ev & (Completion.hangUp | Completion.error) != 0 {
            // Both directions are dead and the handler already saw EOF: nothing left to do
            // but close (otherwise the always-reported HUP would make the loop spin).
            c.abort()
            return
        }
        if ev & Completion.writable != 0 && e.writableReady(c) {
            flush(e, c)
            updateReading(e, c)
        }
        if ev & (Completion.readable | Completion.hangUp | Completion.error) != 0 {
            readReady(e, c)
        }
    }

    /// Reads until the socket is empty, the buffer was not filled, or a fairness bound is hit.
    @inline(__always)
    private func readReady<E: IOEngine>(_ e: E, _ c: TCPConnection) {
        for _ in 0..<4 {
            if c.readPaused && c.closeState == .open { return }
            switch e.read(c) {
            case .bytes(let bytes, let filled):
                deliver(c, bytes)
                if !filled { return }
                switch c.closeState {
                case .closing, .closed: return
                default: continue
                }
            case .endOfFile:
                deliverEOF(c, error: nil)
                updateReading(e, c)
                return
            case .wouldBlock:
                return
            case .failed(let errno):
                deliverEOF(c, error: IOError("read", errno: errno))
                updateReading(e, c)
                return
            }
        }
    }

    private func socketError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        do throws(IOError) {
            _ = try Syscall.call("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) }
        } catch {
            return error.errno
        }
        return err
    }

    /// epoll: a listener has connections waiting.
    private func acceptReady<E: IOEngine>(_ e: E, _ cq: Completion) {
        let id = Int(cq.userData.slot)
        guard id < listeners.count, let l = listeners[id], !l.closed else { return }
        // Bounded per tick so a connection storm cannot starve established connections.
        for _ in 0..<256 {
            switch e.accept(l.fd) {
            case .accepted(let fd):
                acceptedDescriptor(e, fd, listener: l)
            case .retry:
                continue
            case .exhausted:
                pauseAccepting(e, l)
                return
            case .wouldBlock, .failed:
                return
            }
        }
    }

    // MARK: Both models

    /// A watched descriptor (libcurl's) is ready; `result` is a poll mask or `-errno`.
    private func watchCompleted<E: IOEngine>(_ e: E, _ cq: Completion) {
        let ud = cq.userData
        let i = Int(ud.slot)
        guard i < watches.count, watches[i].active, watches[i].generation & 0xFF_FFFF == ud.generation,
              let w = watches[i].watcher else { return }
        let res = cq.result
        if res < 0 {
            if res == -ECANCELED { return }
            w.fdReady(watches[i].fd, token: watches[i].token, readable: true, writable: true, error: true)
        } else {
            let m = UInt32(res)
            w.fdReady(
                watches[i].fd, token: watches[i].token,
                readable: m & (Completion.readable | Completion.hangUp) != 0,
                writable: m & Completion.writable != 0, error: m & Completion.error != 0)
        }
        if i < watches.count, watches[i].active, watches[i].generation & 0xFF_FFFF == ud.generation {
            e.watchDelivered(id: i, fd: watches[i].fd, generation: watches[i].generation,
                             readable: watches[i].readable, writable: watches[i].writable)
        }
    }
}
