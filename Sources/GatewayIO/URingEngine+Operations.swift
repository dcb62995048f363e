internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

// The operations the loop asks for: each fills one submission entry, or parks when none is free.
extension URingEngine: IOEngine {
    // MARK: Listeners

    func addListener(fd: Int32, id: Int) throws(IOError) {
        // io_uring completes operations on O_NONBLOCK files with -EAGAIN instead of waiting, so the
        // listener is switched to blocking mode; accepted sockets are blocking for the same reason.
        let flags = try Syscall.call("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        if flags & O_NONBLOCK != 0 { _ = try Syscall.call("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) } }
        while acceptArmed.count <= id { acceptArmed.append(false) }
        acceptArmed[id] = true
        guard let s = sqe() else { park(.accept(fd: fd, id: id)); return }
        prepareAccept(s, fd: fd, id: id)
    }

    func prepareAccept(_ s: UnsafeMutablePointer<io_uring_sqe>, fd: Int32, id: Int) {
        io_uring_prep_multishot_accept(s, fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        io_uring_sqe_set_data64(s, UserData(.accept, slot: UInt32(id)).raw)
    }

    func removeListener(fd: Int32, id: Int) {
        // The kernel holds its own reference while the accept is armed; the loop may close at once.
        if id < acceptArmed.count, acceptArmed[id] { cancel(UserData(.accept, slot: UInt32(id))) }
    }

    func accept(_ fd: Int32) -> AcceptOutcome { .wouldBlock }

    // MARK: Connections

    func open(_ c: TCPConnection) {
        let s = Int(c.slot)
        slots.ensure(s)
        slots[s] = Slot(generation: c.generation)
    }

    func startReading(_ c: TCPConnection) {
        let s = Int(c.slot)
        guard !slots[s].recvArmed, c.wantsToReceive else { return }
        slots[s].recvArmed = true
        guard let e = sqe() else { park(.recv(c)); return }
        prepareRecv(e, c)
    }

    @inline(__always)
    func prepareRecv(_ s: UnsafeMutablePointer<io_uring_sqe>, _ c: TCPConnection) {
        cgw_prep_recv_multishot_select(s, c.fd, UInt16(bufGroup), UserData(.recv, slot: c.slot, generation: c.generation).raw)
    }

    func updateReading(_ c: TCPConnection) {
        if c.readPaused {
            if slots[Int(c.slot)].recvArmed { cancel(UserData(.recv, slot: c.slot, generation: c.generation)) }
        } else {
            startReading(c)
        }
    }

    func cancelOperations(_ c: TCPConnection) {
        let slot = slots[Int(c.slot)]
        if slot.connectAddress != nil { cancel(UserData(.connect, slot: c.slot, generation: c.generation)) }
        if slot.recvArmed { cancel(UserData(.recv, slot: c.slot, generation: c.generation)) }
        if slot.sendInFlight {
            cancel(UserData(.send, slot: c.slot, generation: c.generation))
            cancel(UserData(.sendPoll, slot: c.slot, generation: c.generation))
        }
    }

    @inline(__always)
    func hasOperationsInFlight(_ c: TCPConnection) -> Bool {
        let slot = slots[Int(c.slot)]
        return slot.recvArmed || slot.sendInFlight || slot.connectAddress != nil
    }

    @inline(__always)
    func receivedBytes(_ completion: Completion) -> UnsafeMutableRawPointer? {
        guard completion.flags & Completion.bufferFlag != 0 else { return nil }
        let bid = Int(completion.flags >> Completion.bufferShift)
        return bufBase + bid * Int(bufSize)
    }

    @inline(__always)
    func recycleBuffer(_ completion: Completion) {
        guard completion.flags & Completion.bufferFlag != 0 else { return }
        let bid = UInt16(truncatingIfNeeded: completion.flags >> Completion.bufferShift)
        cgw_buf_ring_add(bufRing, bufBase + Int(bid) * Int(bufSize), bufSize, bid, bufMask, 0)
        cgw_buf_ring_advance(bufRing, 1)
    }

    func read(_ c: TCPConnection) -> ReadOutcome { .wouldBlock }

    func startConnect(_ c: TCPConnection, to address: SocketAddress) {
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        storage.initialize(to: sockaddr_storage())
        let len = address.withSockAddr { sa, l -> socklen_t in
            UnsafeMutableRawPointer(storage).copyMemory(from: sa, byteCount: Int(l))
            return l
        }
        slots[Int(c.slot)].connectAddress = storage
        guard let s = sqe() else { park(.connect(c, len)); return }
        prepareConnect(s, c, len)
    }

    func prepareConnect(_ s: UnsafeMutablePointer<io_uring_sqe>, _ c: TCPConnection, _ len: socklen_t) {
        guard let storage = slots[Int(c.slot)].connectAddress else { return }
        storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { io_uring_prep_connect(s, c.fd, $0, len) }
        io_uring_sqe_set_data64(s, UserData(.connect, slot: c.slot, generation: c.generation).raw)
    }

    func connectFinished(_ c: TCPConnection) {}

    @inline(__always)
    func flush(_ c: TCPConnection, pool: inout BufferPool, sent: inout UInt64) -> FlushOutcome {
        let s = Int(c.slot)
        if slots[s].sendInFlight { return .pending }
        if c.outbound.isEmpty { return .drained }
        slots[s].sendInFlight = true
        guard let e = sqe() else {
            park(.send(c))
            return .pending
        }
        prepareSend(e, c)
        return .pending
    }

    /// Fills `s` with a send of the head of `c`'s queue (one span: `send`; more: `sendmsg` with a
    /// pooled iovec array) and locks the chunks it covers.
    @inline(__always)
    func prepareSend(_ s: UnsafeMutablePointer<io_uring_sqe>, _ c: TCPConnection) {
        var single: UnsafeRawBufferPointer?
        var batch: SendBatch?
        let n = c.outbound.withSpans(max: SendBatch.maxSpans, lock: true) { span, i in
            if i == 0 { single = span }
            if i == 1 {
                let b = batches.popLast() ?? SendBatch.allocate()
                batch = b
                b.iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: single?.baseAddress), iov_len: single?.count ?? 0)
            }
            if i >= 1, let b = batch {
                b.iov[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: span.baseAddress), iov_len: span.count)
            }
        }
        if n == 1, let span = single {
            io_uring_prep_send(s, c.fd, span.baseAddress, span.count, Int32(MSG_NOSIGNAL))
        } else if let b = batch {
            b.msg.pointee = msghdr()
            b.msg.pointee.msg_iov = b.iov
            b.msg.pointee.msg_iovlen = n
            io_uring_prep_sendmsg(s, c.fd, b.msg, UInt32(MSG_NOSIGNAL))
            slots[Int(c.slot)].batch = b
        }
        io_uring_sqe_set_data64(s, UserData(.send, slot: c.slot, generation: c.generation).raw)
    }

    func pollWritable(_ c: TCPConnection) {
        slots[Int(c.slot)].sendInFlight = true
        guard let s = sqe() else { park(.sendPoll(c)); return }
        preparePoll(s, fd: c.fd, mask: UInt32(POLLOUT), userData: UserData(.sendPoll, slot: c.slot, generation: c.generation).raw)
    }

    func writableReady(_ c: TCPConnection) -> Bool { false }

    // MARK: Watches (libcurl sockets)

    func addWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        watchSlots.ensure(id)
        watchSlots[id] = WatchSlot()
        armWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
    }

    private func armWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        guard !watchSlots[id].armed else { return }
        var mask: UInt32 = 0
        if readable { mask |= UInt32(POLLIN) }
        if writable { mask |= UInt32(POLLOUT) }
        guard mask != 0 else { return }
        let gen = generation & 0xFF_FFFF
        watchSlots[id] = WatchSlot(armed: true, generation: gen)
        let ud = UserData(.watch, slot: UInt32(id), generation: gen).raw
        guard let s = sqe() else { park(.poll(fd: fd, mask: mask, userData: ud)); return }
        preparePoll(s, fd: fd, mask: mask, userData: ud)
    }

    func modifyWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        removeWatch(id: id, fd: fd)
        armWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
    }

    func removeWatch(id: Int, fd: Int32) {
        guard watchSlots.contains(id), watchSlots[id].armed else { return }
        let ud = UserData(.watch, slot: UInt32(id), generation: watchSlots[id].generation).raw
        watchSlots[id].armed = false
        guard let s = sqe() else { park(.pollRemove(ud)); return }
        preparePollRemove(s, ud)
    }

    func watchDelivered(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        // Level-triggered: poll again while still interested (a one-shot poll reports an fd that is
        // already ready at once, so nothing is missed between the callback and the re-arm).
        armWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
    }
}
