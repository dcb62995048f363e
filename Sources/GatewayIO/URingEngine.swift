internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// Kernel-visible storage for one `sendmsg`: a msghdr and its iovecs. Allocated once, pooled per loop,
/// lent to a connection while its send is in flight (the kernel reads it until the completion).
final class SendBatch {
    static let maxSpans = 16
    let msg: UnsafeMutablePointer<msghdr>
    let iov: UnsafeMutablePointer<iovec>

    init() {
        msg = .allocate(capacity: 1)
        msg.initialize(to: msghdr())
        iov = .allocate(capacity: Self.maxSpans)
    }

    deinit {
        msg.deallocate()
        iov.deallocate()
    }
}

/// The completion-based engine on io_uring: multishot accept, multishot recv into a ring of provided
/// buffers shared by every connection of the loop (an idle connection owns no receive buffer), sends
/// and sendmsg queued during the tick and submitted together, one-shot polls for libcurl's sockets,
/// and an eventfd read for cross-thread wake-ups. Every operation is identified by a packed
/// `UserData`, so no operation allocates.
final class URingEngine {
    let ring: UnsafeMutablePointer<io_uring>
    private let bufRing: UnsafeMutableRawPointer
    private let bufBase: UnsafeMutableRawPointer
    private let bufCount: UInt32
    private let bufSize: UInt32
    private let bufMask: Int32
    private let bufGroup: Int32 = 0
    private let wakeFd: Int32
    private let wakeBuf: UnsafeMutablePointer<UInt64>
    private let timeout: UnsafeMutablePointer<__kernel_timespec>
    private let cqeBatch: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    private static let cqeBatchSize = 256
    private var completions: [(ud: UInt64, res: Int32, flags: UInt32)] = []
    /// Next completion to dispatch. A member, not a local, because a handler that forces a submit on a
    /// full SQ reaps and dispatches re-entrantly; the nested call must continue where we are.
    private var dispatchIndex = 0
    private var rearm: [TCPConnection] = []
    private var batches: [SendBatch] = []
    unowned(unsafe) var loop: EventLoop!
    /// Ring setup flags actually in use (for the start-up log).
    let setupDescription: String

    init(options: EventLoopOptions) throws(IOError) {
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        var desc = ""
        let r = URingEngine.setupRing(ring, entries: options.ringEntries, description: &desc)
        if r < 0 {
            ring.deallocate()
            throw IOError("io_uring_setup", errno: -r)
        }
        setupDescription = desc
        bufCount = options.receiveBufferCount
        bufSize = options.receiveBufferSize
        bufMask = io_uring_buf_ring_mask(bufCount)
        var err: Int32 = 0
        guard let br = cgw_buf_ring_setup(ring, bufCount, bufGroup, &err) else {
            io_uring_queue_exit(ring)
            ring.deallocate()
            throw IOError("io_uring_register_buf_ring", errno: -err)
        }
        bufRing = br
        bufBase = .allocate(byteCount: Int(bufCount) * Int(bufSize), alignment: 4096)
        for i in 0..<bufCount {
            cgw_buf_ring_add(bufRing, bufBase + Int(i) * Int(bufSize), bufSize, UInt16(i), bufMask, Int32(i))
        }
        cgw_buf_ring_advance(bufRing, Int32(bufCount))
        // A blocking eventfd: io_uring then parks the read on the fd's wait queue instead of
        // completing it with -EAGAIN (files opened O_NONBLOCK make io_uring return EAGAIN).
        let ev = eventfd(0, Int32(EFD_CLOEXEC))
        guard ev >= 0 else {
            let e = errno
            cgw_buf_ring_free(ring, bufRing, bufCount, bufGroup)
            io_uring_queue_exit(ring)
            throw IOError("eventfd", errno: e)
        }
        wakeFd = ev
        wakeBuf = .allocate(capacity: 1)
        wakeBuf.initialize(to: 0)
        timeout = .allocate(capacity: 1)
        timeout.initialize(to: __kernel_timespec())
        cqeBatch = .allocate(capacity: Self.cqeBatchSize)
        completions.reserveCapacity(Self.cqeBatchSize)
        armWake()
    }

    /// Creates the ring with the best flags this kernel accepts: `SINGLE_ISSUER | DEFER_TASKRUN`
    /// (completion work runs only when we enter the kernel, on our thread: fewer interrupts and
    /// context switches, kernel ≥ 6.1), else `COOP_TASKRUN`, else none. The completion queue is four
    /// times the submission queue because multishot operations post many completions per submission.
    static func setupRing(_ ring: UnsafeMutablePointer<io_uring>, entries: UInt32, description: inout String) -> Int32 {
        let attempts: [(UInt32, String)] = [
            (UInt32(IORING_SETUP_SINGLE_ISSUER) | UInt32(IORING_SETUP_DEFER_TASKRUN), "single_issuer+defer_taskrun"),
            (UInt32(IORING_SETUP_COOP_TASKRUN), "coop_taskrun"),
            (0, "plain"),
        ]
        var last: Int32 = -EINVAL
        for (flags, name) in attempts {
            var p = io_uring_params()
            p.flags = flags | UInt32(IORING_SETUP_CQSIZE)
            p.cq_entries = entries * 4
            last = io_uring_queue_init_params(entries, ring, &p)
            if last == 0 {
                description = name
                return 0
            }
            if last != -EINVAL { return last }
        }
        return last
    }

    func attach(_ loop: EventLoop) { self.loop = loop }

    func teardown() {
        cgw_buf_ring_free(ring, bufRing, bufCount, bufGroup)
        io_uring_queue_exit(ring)
        Glibc.close(wakeFd)
        ring.deallocate()
        bufBase.deallocate()
        wakeBuf.deallocate()
        timeout.deallocate()
        cqeBatch.deallocate()
    }

    // MARK: Submission

    /// A free submission entry. When the SQ is full, submits what is queued and tries again.
    @inline(__always)
    private func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
        if let s = io_uring_get_sqe(ring) { return s }
        return sqeSlow()
    }

    @inline(never)
    private func sqeSlow() -> UnsafeMutablePointer<io_uring_sqe> {
        for _ in 0..<64 {
            let r = io_uring_submit(ring)
            if let s = io_uring_get_sqe(ring) { return s }
            if r == -EBUSY || r == -EAGAIN {
                // The completion queue is overcommitted: reap before submitting more.
                reapCompletions(wait: false)
                dispatchCompletions()
            }
        }
        preconditionFailure("io_uring submission queue stays full")
    }

    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFd, &one, 8)
    }

    private func armWake() {
        let s = sqe()
        io_uring_prep_read(s, wakeFd, wakeBuf, 8, 0)
        io_uring_sqe_set_data64(s, UserData(.wake, slot: 0).raw)
    }

    private func cancel(_ ud: UserData) {
        let s = sqe()
        io_uring_prep_cancel64(s, ud.raw, 0)
        io_uring_sqe_set_data64(s, UserData(.cancel, slot: 0).raw)
    }

    // MARK: Listeners

    func armAccept(_ l: Listener) {
        guard !l.closed else { return }
        // io_uring completes operations on O_NONBLOCK files with -EAGAIN instead of waiting, so the
        // listener is switched to blocking mode; accepted sockets are blocking for the same reason.
        let flags = fcntl(l.fd, F_GETFL)
        if flags >= 0 && flags & O_NONBLOCK != 0 { _ = fcntl(l.fd, F_SETFL, flags & ~O_NONBLOCK) }
        let s = sqe()
        io_uring_prep_multishot_accept(s, l.fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        io_uring_sqe_set_data64(s, UserData(.accept, slot: UInt32(l.id)).raw)
        l.acceptArmed = true
    }

    func removeListener(_ l: Listener) {
        if l.acceptArmed { cancel(UserData(.accept, slot: UInt32(l.id))) }
        // The kernel holds its own reference while the accept is armed; close is safe.
        Glibc.close(l.fd)
    }

    private func acceptCompleted(_ ud: UserData, res: Int32, flags: UInt32) {
        let id = Int(ud.slot)
        guard id < loop.listeners.count, let l = loop.listeners[id], !l.closed else {
            if res >= 0 { Glibc.close(res) }
            return
        }
        if res >= 0 {
            loop.acceptedDescriptor(res, listener: l)
        }
        guard flags & UInt32(IORING_CQE_F_MORE) == 0 else { return }
        l.acceptArmed = false
        switch -res {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            if l.retryTimer == nil {
                l.retryTimer = loop.makeTimer { [unowned self, unowned l] in self.armAccept(l) }
            }
            l.retryTimer?.schedule(afterNanos: Listener.descriptorExhaustionBackoffNanos)
        case ECANCELED:
            break
        default:
            armAccept(l)
        }
    }

    // MARK: Connections

    func startReading(_ c: TCPConnection) {
        guard !c.recvArmed, !c.readPaused, !c.eof, !c.connecting else { return }
        switch c.closeState {
        case .closing, .closed: return
        default: break
        }
        cgw_prep_recv_multishot_select(sqe(), c.fd, UInt16(bufGroup), UserData(.recv, slot: c.slot, generation: c.generation).raw)
        c.recvArmed = true
    }

    func updateReading(_ c: TCPConnection) {
        if c.readPaused {
            if c.recvArmed { cancel(UserData(.recv, slot: c.slot, generation: c.generation)) }
        } else {
            startReading(c)
        }
    }

    func cancelOperations(_ c: TCPConnection) {
        if c.connectAddress != nil { cancel(UserData(.connect, slot: c.slot, generation: c.generation)) }
        if c.recvArmed { cancel(UserData(.recv, slot: c.slot, generation: c.generation)) }
        if c.sendInFlight {
            cancel(UserData(.send, slot: c.slot, generation: c.generation))
            cancel(UserData(.sendPoll, slot: c.slot, generation: c.generation))
        }
    }

    private func recvCompleted(_ ud: UserData, res: Int32, flags: UInt32) {
        let c = loop.connection(for: ud)
        if flags & UInt32(IORING_CQE_F_BUFFER) != 0 {
            let bid = UInt16(truncatingIfNeeded: flags >> CGW_IORING_CQE_BUFFER_SHIFT())
            let base = bufBase + Int(bid) * Int(bufSize)
            if let c, res > 0 {
                loop.deliver(c, UnsafeMutableRawBufferPointer(start: base, count: Int(res)))
            }
            cgw_buf_ring_add(bufRing, base, bufSize, bid, bufMask, 0)
            cgw_buf_ring_advance(bufRing, 1)
        }
        guard let c else { return }
        let more = flags & UInt32(IORING_CQE_F_MORE) != 0
        if !more { c.recvArmed = false }
        if res == 0 {
            loop.deliverEOF(c, error: nil)
        } else if res < 0 {
            switch -res {
            case ENOBUFS:
                // Every provided buffer was in use: re-arm after this batch has recycled them.
                if !c.needsRearm {
                    c.needsRearm = true
                    rearm.append(c)
                }
            case ECANCELED:
                break
            default:
                loop.deliverEOF(c, error: IOError("recv", errno: -res))
            }
        }
        if !more {
            if c.closeState == .closing {
                loop.operationFinished(c)
            } else if res > 0 {
                startReading(c)
            } else if res == -ECANCELED && !c.readPaused {
                startReading(c)  // resumed while the cancel was in flight
            }
        }
    }

    func startConnect(_ c: TCPConnection, to address: SocketAddress) {
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        storage.initialize(to: sockaddr_storage())
        let len = address.withSockAddr { sa, l -> socklen_t in
            UnsafeMutableRawPointer(storage).copyMemory(from: sa, byteCount: Int(l))
            return l
        }
        c.connectAddress = storage
        let s = sqe()
        storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { io_uring_prep_connect(s, c.fd, $0, len) }
        io_uring_sqe_set_data64(s, UserData(.connect, slot: c.slot, generation: c.generation).raw)
    }

    private func connectCompleted(_ ud: UserData, res: Int32) {
        guard let c = loop.connection(for: ud) else { return }
        if let a = c.connectAddress {
            a.deallocate()
            c.connectAddress = nil
        }
        if c.closeState == .closing {
            loop.operationFinished(c)
            return
        }
        if res < 0 {
            c.abort(error: IOError("connect", errno: -res))
            return
        }
        loop.connected(c)
    }

    func flush(_ c: TCPConnection) {
        guard !c.sendInFlight, !c.connecting else { return }
        switch c.closeState {
        case .open, .flushing: break
        default: return
        }
        if c.outbound.isEmpty {
            loop.didDrain(c)
            return
        }
        let ud = UserData(.send, slot: c.slot, generation: c.generation).raw
        let s = sqe()
        var single: UnsafeRawBufferPointer?
        var batch: SendBatch?
        let n = c.outbound.withSpans(max: SendBatch.maxSpans, lock: true) { span, i in
            if i == 0 { single = span }
            if i == 1 {
                let b = batches.popLast() ?? SendBatch()
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
            c.sendBatch = b
        }
        io_uring_sqe_set_data64(s, ud)
        c.sendInFlight = true
    }

    private func sendCompleted(_ ud: UserData, res: Int32) {
        guard let c = loop.connection(for: ud) else { return }
        c.sendInFlight = false
        if let b = c.sendBatch {
            c.sendBatch = nil
            batches.append(b)
        }
        if c.closeState == .closing {
            c.outbound.unlock()
            loop.operationFinished(c)
            return
        }
        if res >= 0 {
            loop.bytesSent &+= UInt64(res)
            c.outbound.consume(Int(res), pool: &loop.bufferPool)
            flush(c)
        } else if res == -EAGAIN {
            c.outbound.unlock()
            let s = sqe()
            io_uring_prep_poll_add(s, c.fd, UInt32(POLLOUT))
            io_uring_sqe_set_data64(s, UserData(.sendPoll, slot: c.slot, generation: c.generation).raw)
            c.sendInFlight = true
        } else {
            c.outbound.unlock()
            c.abort(error: IOError("send", errno: -res))
        }
    }

    private func sendPollCompleted(_ ud: UserData) {
        guard let c = loop.connection(for: ud) else { return }
        c.sendInFlight = false
        if c.closeState == .closing {
            loop.operationFinished(c)
        } else {
            flush(c)
        }
    }

    // MARK: Watches (libcurl sockets)

    func armWatch(_ i: Int) {
        let w = loop.watches[i]
        guard w.active, !w.armed else { return }
        var mask: UInt32 = 0
        if w.readable { mask |= UInt32(POLLIN) }
        if w.writable { mask |= UInt32(POLLOUT) }
        guard mask != 0 else { return }
        let s = sqe()
        io_uring_prep_poll_add(s, w.fd, mask)
        io_uring_sqe_set_data64(s, UserData(.watch, slot: UInt32(i), generation: w.generation).raw)
        loop.watches[i].armed = true
    }

    func rearmWatch(_ i: Int) {
        cancelWatch(i)
        loop.watches[i].generation &+= 1
        armWatch(i)
    }

    func cancelWatch(_ i: Int) {
        guard loop.watches[i].armed else { return }
        let s = sqe()
        io_uring_prep_poll_remove(s, UserData(.watch, slot: UInt32(i), generation: loop.watches[i].generation).raw)
        io_uring_sqe_set_data64(s, UserData(.cancel, slot: 0).raw)
        loop.watches[i].armed = false
    }

    private func watchCompleted(_ ud: UserData, res: Int32) {
        let i = Int(ud.slot)
        guard i < loop.watches.count, loop.watches[i].active,
              loop.watches[i].generation & 0xFF_FFFF == ud.generation else { return }
        loop.watches[i].armed = false
        if res < 0 {
            if res == -ECANCELED { return }
            loop.watchReady(ud, readable: true, writable: true, error: true)
        } else {
            let ev = UInt32(res)
            loop.watchReady(
                ud, readable: ev & UInt32(POLLIN | POLLHUP) != 0, writable: ev & UInt32(POLLOUT) != 0,
                error: ev & UInt32(POLLERR) != 0)
        }
        // Level-triggered: poll again while still interested (a one-shot poll reports an fd that is
        // already ready at once, so nothing is missed between the callback and the re-arm).
        if i < loop.watches.count, loop.watches[i].active, loop.watches[i].generation & 0xFF_FFFF == ud.generation {
            armWatch(i)
        }
    }

    // MARK: Waiting

    func wait(timeoutNanos: UInt64) {
        timeout.pointee.tv_sec = Int64(timeoutNanos / 1_000_000_000)
        timeout.pointee.tv_nsec = Int64(timeoutNanos % 1_000_000_000)
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        // Submits everything queued this tick and waits for at least one completion or the timeout,
        // in one io_uring_enter (EXT_ARG timeout, no timeout SQE). -ETIME/-EINTR are normal.
        _ = io_uring_submit_and_wait_timeout(ring, &cqe, 1, timeout, nil)
        loop.now = Syscall.monotonicNanos()
        reapCompletions(wait: false)
        dispatchCompletions()
        if !rearm.isEmpty {
            for c in rearm {
                c.needsRearm = false
                startReading(c)
            }
            rearm.removeAll(keepingCapacity: true)
        }
    }

    /// Copies completions out of the CQ and advances it before any handler runs, so handlers may
    /// submit (and even force a submit) without touching entries we are iterating.
    private func reapCompletions(wait: Bool) {
        while true {
            let n = Int(io_uring_peek_batch_cqe(ring, cqeBatch, UInt32(Self.cqeBatchSize)))
            if n == 0 { return }
            for k in 0..<n {
                guard let e = cqeBatch[k] else { continue }
                completions.append((e.pointee.user_data, e.pointee.res, e.pointee.flags))
            }
            io_uring_cq_advance(ring, UInt32(n))
            if n < Self.cqeBatchSize { return }
        }
    }

    private func dispatchCompletions() {
        while dispatchIndex < completions.count {
            let (raw, res, flags) = completions[dispatchIndex]
            dispatchIndex += 1
            let ud = UserData(raw: raw)
            switch ud.op {
            case .recv: recvCompleted(ud, res: res, flags: flags)
            case .send: sendCompleted(ud, res: res)
            case .sendPoll: sendPollCompleted(ud)
            case .accept: acceptCompleted(ud, res: res, flags: flags)
            case .connect: connectCompleted(ud, res: res)
            case .watch: watchCompleted(ud, res: res)
            case .wake: armWake()
            default: break
            }
        }
        completions.removeAll(keepingCapacity: true)
        dispatchIndex = 0
    }
}
