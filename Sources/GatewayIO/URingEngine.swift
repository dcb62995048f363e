internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// The completion-based engine on io_uring: multishot accept, multishot recv into a ring of provided
/// buffers shared by every connection of the loop (an idle connection owns no receive buffer), sends
/// and sendmsg queued during the tick and submitted together, one-shot polls for libcurl's sockets,
/// and an eventfd read for cross-thread wake-ups. Every operation is identified by a packed
/// `UserData`, so no operation allocates.
///
/// When the submission queue is full, operations are parked on `parked` and submitted, in order, by
/// the next `wait` (TigerBeetle's `unqueued`); nothing reaps or dispatches from a submission path.
final class URingEngine {
    let ring: UnsafeMutablePointer<io_uring>
    let bufRing: UnsafeMutableRawPointer
    let bufBase: UnsafeMutableRawPointer
    let bufCount: UInt32
    let bufSize: UInt32
    let bufMask: Int32
    let bufGroup: Int32 = 0
    let wakeFd: Int32
    let wakeBuf: UnsafeMutablePointer<UInt64>
    let timeout: UnsafeMutablePointer<__kernel_timespec>
    let cqeBatch: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    static let cqeBatchSize = 256
    /// Per-connection bookkeeping, indexed by slot.
    var slots = SlotTable(initial: Slot())
    /// Per-watch bookkeeping, indexed by watch id.
    var watchSlots = SlotTable(initial: WatchSlot())
    /// Whether listener `id`'s multishot accept is armed.
    var acceptArmed: [Bool] = []
    var batches: [SendBatch] = []
    /// Operations that found the submission queue full, oldest first.
    var parked = RingQueue<Parked>()
    /// Operations parked since start (tests check that a tiny ring really parks).
    private(set) var parkedTotal = 0
    /// Ring setup flags actually in use (for the start-up log).
    let setupDescription: String

    /// What the engine tracks per connection.
    struct Slot {
        var generation: UInt32 = 0
        /// A multishot recv is armed (until a CQE without F_MORE).
        var recvArmed = false
        /// A send (or its POLLOUT wait) is in flight.
        var sendInFlight = false
        /// The iovec/msghdr storage of the send in flight.
        var batch: SendBatch?
        /// The peer address of a connect in flight, kept where the kernel can read it.
        var connectAddress: UnsafeMutablePointer<sockaddr_storage>?
    }

    /// What the engine tracks per watch.
    struct WatchSlot {
        /// A one-shot poll is in flight with `generation`.
        var armed = false
        var generation: UInt32 = 0
    }

    /// An operation waiting for a free submission entry.
    enum Parked {
        case recv(TCPConnection)
        case send(TCPConnection)
        case sendPoll(TCPConnection)
        case connect(TCPConnection, socklen_t)
        case accept(fd: Int32, id: Int)
        case cancel(UInt64)
        case poll(fd: Int32, mask: UInt32, userData: UInt64)
        case pollRemove(UInt64)
        case wake
    }

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
        // A blocking eventfd: io_uring then parks the read on the fd's wait queue instead of
        // completing it with -EAGAIN (files opened O_NONBLOCK make io_uring return EAGAIN).
        let ev = eventfd(0, Int32(EFD_CLOEXEC))
        guard ev >= 0 else {
            let e = errno
            cgw_buf_ring_free(ring, br, bufCount, bufGroup)
            io_uring_queue_exit(ring)
            ring.deallocate()
            throw IOError("eventfd", errno: e)
        }
        bufBase = .allocate(byteCount: Int(bufCount) * Int(bufSize), alignment: 4096)
        for i in 0..<bufCount {
            cgw_buf_ring_add(bufRing, bufBase + Int(i) * Int(bufSize), bufSize, UInt16(i), bufMask, Int32(i))
        }
        cgw_buf_ring_advance(bufRing, Int32(bufCount))
        wakeFd = ev
        wakeBuf = .allocate(capacity: 1)
        wakeBuf.initialize(to: 0)
        timeout = .allocate(capacity: 1)
        timeout.initialize(to: __kernel_timespec())
        cqeBatch = .allocate(capacity: Self.cqeBatchSize)
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

    func teardown() {
        cgw_buf_ring_free(ring, bufRing, bufCount, bufGroup)
        io_uring_queue_exit(ring)
        Syscall.close(wakeFd)
        ring.deallocate()
        bufBase.deallocate()
        wakeBuf.deallocate()
        timeout.deallocate()
        cqeBatch.deallocate()
        for s in 0..<slots.capacity {
            if let b = slots[s].batch { b.deallocate() }
            if let a = slots[s].connectAddress { a.deallocate() }
        }
        for b in batches { b.deallocate() }
        batches.removeAll()
        parked.removeAll()
        slots.deallocate()
        watchSlots.deallocate()
    }

    var usesNonBlockingSockets: Bool { false }

    func wake() { Syscall.signal(eventFD: wakeFd) }

    // MARK: Submission

    /// A free submission entry, or nil when the queue is full or earlier work is parked (which
    /// keeps operations in order: a cancel must not overtake the receive it cancels).
    @inline(__always)
    func sqe() -> UnsafeMutablePointer<io_uring_sqe>? {
        guard parked.isEmpty else { return nil }
        return io_uring_get_sqe(ring)
    }

    /// Parks `op` until the next `wait` has room for it.
    @inline(never)
    func park(_ op: Parked) {
        parkedTotal += 1
        parked.push(op)
    }

    /// Prepares a parked operation into `s`.
    func prepare(_ op: Parked, _ s: UnsafeMutablePointer<io_uring_sqe>) {
        switch op {
        case .recv(let c): prepareRecv(s, c)
        case .send(let c): prepareSend(s, c)
        case .sendPoll(let c): preparePoll(s, fd: c.fd, mask: UInt32(POLLOUT), userData: UserData(.sendPoll, slot: c.slot, generation: c.generation).raw)
        case .connect(let c, let len): prepareConnect(s, c, len)
        case .accept(let fd, let id): prepareAccept(s, fd: fd, id: id)
        case .cancel(let target): prepareCancel(s, target)
        case .poll(let fd, let mask, let ud): preparePoll(s, fd: fd, mask: mask, userData: ud)
        case .pollRemove(let target): preparePollRemove(s, target)
        case .wake: prepareWake(s)
        }
    }

    /// Moves parked operations into the submission queue, submitting whenever it fills. Stops when
    /// the kernel refuses more for now (EBUSY/EAGAIN: completions must be reaped first).
    func submitParked() {
        while let op = parked.first {
            guard let s = io_uring_get_sqe(ring) else {
                let r = io_uring_submit(ring)
                if r <= 0 {
                    if r < 0 && -r != EBUSY && -r != EAGAIN && -r != EINTR { checkEnter("io_uring_submit", r) }
                    return
                }
                continue
            }
            _ = parked.pop()
            prepare(op, s)
        }
    }

    /// Traps on results of `io_uring_enter` that mean a broken ring or a bug (EBADF, EFAULT, EINVAL,
    /// ENXIO, EOPNOTSUPP); other errors (ENOMEM) are transient and retried on the next tick.
    func checkEnter(_ name: String, _ r: Int32) {
        switch -r {
        case EBADF, EFAULT, EINVAL, ENXIO, EOPNOTSUPP:
            preconditionFailure("unacceptable result \(IOError.name(of: -r)) from \(name): a bug in the gateway")
        default:
            break
        }
    }

    func armWake() {
        guard let s = sqe() else { park(.wake); return }
        prepareWake(s)
    }

    func prepareWake(_ s: UnsafeMutablePointer<io_uring_sqe>) {
        io_uring_prep_read(s, wakeFd, wakeBuf, 8, 0)
        io_uring_sqe_set_data64(s, UserData(.wake, slot: 0).raw)
    }

    func cancel(_ ud: UserData) {
        guard let s = sqe() else { park(.cancel(ud.raw)); return }
        prepareCancel(s, ud.raw)
    }

    func prepareCancel(_ s: UnsafeMutablePointer<io_uring_sqe>, _ target: UInt64) {
        io_uring_prep_cancel64(s, target, 0)
        io_uring_sqe_set_data64(s, UserData(.cancel, slot: 0).raw)
    }

    func preparePoll(_ s: UnsafeMutablePointer<io_uring_sqe>, fd: Int32, mask: UInt32, userData: UInt64) {
        io_uring_prep_poll_add(s, fd, mask)
        io_uring_sqe_set_data64(s, userData)
    }

    func preparePollRemove(_ s: UnsafeMutablePointer<io_uring_sqe>, _ target: UInt64) {
        io_uring_prep_poll_remove(s, target)
        io_uring_sqe_set_data64(s, UserData(.cancel, slot: 0).raw)
    }

    // MARK: Waiting

    func wait(timeoutNanos: UInt64, into buffer: UnsafeMutableBufferPointer<Completion>) -> Int {
        if !parked.isEmpty { submitParked() }
        // With work still parked, only poll: the next tick submits it after this one reaped.
        let t = parked.isEmpty ? timeoutNanos : 0
        timeout.pointee.tv_sec = Int64(t / 1_000_000_000)
        timeout.pointee.tv_nsec = Int64(t % 1_000_000_000)
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        // Submits everything queued this tick and waits for at least one completion or the timeout,
        // in one io_uring_enter (EXT_ARG timeout, no timeout SQE). -ETIME (timeout), -EINTR (signal),
        // -EBUSY/-EAGAIN (completion queue overcommitted: reap below, resubmit next tick) are normal.
        let r = io_uring_submit_and_wait_timeout(ring, &cqe, 1, timeout, nil)
        if r < 0 { checkEnter("io_uring_submit_and_wait_timeout", r) }
        return reap(into: buffer)
    }

    /// Copies completions out of the CQ and advances it, updating the engine's own bookkeeping on the
    /// way (what is no longer armed or in flight). The wake-up and cancel completions stay inside.
    func reap(into buffer: UnsafeMutableBufferPointer<Completion>) -> Int {
        var out = 0
        while out < buffer.count {
            let want = min(Self.cqeBatchSize, buffer.count - out)
            let n = Int(io_uring_peek_batch_cqe(ring, cqeBatch, UInt32(want)))
            if n == 0 { break }
            for k in 0..<n {
                guard let e = cqeBatch[k] else { continue }
                let ud = UserData(raw: e.pointee.user_data)
                let res = e.pointee.res
                let flags = e.pointee.flags
                if account(ud, res: res, flags: flags) {
                    buffer[out] = Completion(userData: ud, result: res, flags: flags)
                    out += 1
                }
            }
            io_uring_cq_advance(ring, UInt32(n))
            if n < want { break }
        }
        return out
    }

    /// Updates the bookkeeping for one CQE; returns whether the loop should see it.
    @inline(__always)
    func account(_ ud: UserData, res: Int32, flags: UInt32) -> Bool {
        let s = Int(ud.slot)
        switch ud.op {
        case .recv:
            if flags & Completion.moreFlag == 0, slots.contains(s), slots[s].generation == ud.generation {
                slots[s].recvArmed = false
            }
        case .send, .sendPoll:
            if slots.contains(s), slots[s].generation == ud.generation {
                slots[s].sendInFlight = false
                if let b = slots[s].batch {
                    slots[s].batch = nil
                    batches.append(b)
                }
            }
        case .connect:
            if slots.contains(s), slots[s].generation == ud.generation, let a = slots[s].connectAddress {
                a.deallocate()
                slots[s].connectAddress = nil
            }
        case .accept:
            if flags & Completion.moreFlag == 0, s < acceptArmed.count { acceptArmed[s] = false }
        case .watch:
            if watchSlots.contains(s), watchSlots[s].armed, watchSlots[s].generation == ud.generation {
                watchSlots[s].armed = false
            }
        case .wake:
            armWake()
            return false
        case .cancel, .connection, .acceptReady, .none:
            return false
        }
        return true
    }
}
