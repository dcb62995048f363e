internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// The readiness-based engine: level-triggered epoll, one shared read buffer per loop, writes with
/// `sendmsg` at the end of each tick and `EPOLLOUT` only after a short write. It reports readiness
/// (`.connection`, `.acceptReady`, `.watch`) and performs the reads, accepts and writes when the loop
/// asks, which emulates the completion model of the io_uring engine (TigerBeetle's darwin.zig does
/// the same with kqueue).
final class EpollEngine {
    let epfd: Int32
    let wakeFd: Int32
    private let events: UnsafeMutablePointer<epoll_event>
    private let eventCapacity = CompletionBuffer.capacity
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let iovecCapacity = 64
    private var slots = SlotTable(initial: Slot())

    /// What the engine tracks per connection.
    struct Slot {
        var generation: UInt32 = 0
        /// The descriptor is in the epoll set.
        var registered = false
        /// EPOLLOUT is wanted: a write was short, or a connect is in progress.
        var wantsWritable = false
        /// The interest mask registered.
        var events: UInt32 = 0
    }

    init() throws(IOError) {
        let ep = try Syscall.call("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        let ev: Int32
        do throws(IOError) {
            ev = try Syscall.call("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
            try Syscall.epollControl(ep, EPOLL_CTL_ADD, ev, events: EPOLLIN.rawValue, data: UserData(.wake, slot: 0).raw)
        } catch {
            Syscall.close(ep)
            throw error
        }
        epfd = ep
        wakeFd = ev
        events = .allocate(capacity: eventCapacity)
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        iovecs = .allocate(capacity: iovecCapacity)
    }

    func teardown() {
        Syscall.close(epfd)
        Syscall.close(wakeFd)
        events.deallocate()
        readBuffer.deallocate()
        iovecs.deallocate()
        slots.deallocate()
    }

    var usesNonBlockingSockets: Bool { true }

    func wake() { Syscall.signal(eventFD: wakeFd) }

    // MARK: Waiting

    func wait(timeoutNanos: UInt64, into buffer: UnsafeMutableBufferPointer<Completion>) -> Int {
        // Round up so a timer due in 0.3 ms does not turn into a busy 0 ms wait.
        let ms = Int32(min((timeoutNanos + 999_999) / 1_000_000, 60_000))
        let capacity = Int32(min(eventCapacity, buffer.count))
        let n: Int32
        do throws(IOError) {
            n = try Syscall.call("epoll_wait") { epoll_wait(epfd, events, capacity, ms) }
        } catch {
            return 0  // EINTR is retried inside; EBADF/EFAULT trapped; EINVAL cannot happen here
        }
        var out = 0
        for k in 0..<Int(n) {
            let ev = events[k]
            let ud = UserData(raw: ev.data.u64)
            if ud.op == .wake {
                var v: UInt64 = 0
                _ = try? Syscall.nonBlocking("read(eventfd)") { Glibc.read(wakeFd, &v, 8) }
                continue
            }
            buffer[out] = Completion(userData: ud, result: Int32(bitPattern: ev.events & 0xFFFF), flags: ev.events)
            out += 1
        }
        return out
    }
}

extension EpollEngine: IOEngine {
    // MARK: Listeners

    func addListener(fd: Int32, id: Int) throws(IOError) {
        try Syscall.epollControl(epfd, EPOLL_CTL_ADD, fd, events: EPOLLIN.rawValue, data: UserData(.acceptReady, slot: UInt32(id)).raw)
    }

    func removeListener(fd: Int32, id: Int) {
        // ENOENT: already out of the set (paused after EMFILE). Nothing else can fail here.
        _ = try? Syscall.epollControl(epfd, EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    func accept(_ fd: Int32) -> AcceptOutcome {
        do throws(IOError) {
            guard let s = try Syscall.nonBlocking("accept4", { cgw_accept4(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)) }) else {
                return .wouldBlock
            }
            return .accepted(s)
        } catch {
            switch error.errno {
            case ECONNABORTED, EPROTO, EPERM: return .retry
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .exhausted
            default: return .failed(errno: error.errno)
            }
        }
    }

    // MARK: Connections

    func open(_ c: TCPConnection) {
        let s = Int(c.slot)
        slots.ensure(s)
        slots[s] = Slot(generation: c.generation)
    }

    @inline(__always)
    private func interest(_ c: TCPConnection, _ s: Int) -> UInt32 {
        var ev: UInt32 = 0
        if !c.readPaused && !c.eof && !c.connecting { ev |= EPOLLIN.rawValue }
        if slots[s].wantsWritable { ev |= EPOLLOUT.rawValue }
        return ev
    }

    /// Registers `c` with its current interest, or updates the registration when it changed.
    func startReading(_ c: TCPConnection) throws(IOError) {
        switch c.closeState {
        case .closing, .closed: return
        default: break
        }
        let s = Int(c.slot)
        let ev = interest(c, s)
        let ud = UserData(.connection, slot: c.slot, generation: c.generation).raw
        if !slots[s].registered {
            slots[s].events = ev
            try Syscall.epollControl(epfd, EPOLL_CTL_ADD, c.fd, events: ev, data: ud)
            slots[s].registered = true
        } else if ev != slots[s].events {
            slots[s].events = ev
            try Syscall.epollControl(epfd, EPOLL_CTL_MOD, c.fd, events: ev, data: ud)
        }
    }

    func updateReading(_ c: TCPConnection) throws(IOError) {
        // Before the first registration (a handler paused inside `accepted`) there is nothing to
        // update: the registration will carry the interest.
        guard slots[Int(c.slot)].registered else { return }
        try startReading(c)
    }

    func cancelOperations(_ c: TCPConnection) {
        let s = Int(c.slot)
        guard slots[s].registered else { return }
        slots[s].registered = false
        // The descriptor is open and registered, so only a bug could make this fail (and trap).
        _ = try? Syscall.epollControl(epfd, EPOLL_CTL_DEL, c.fd, events: 0, data: 0)
    }

    func hasOperationsInFlight(_ c: TCPConnection) -> Bool { false }

    func startConnect(_ c: TCPConnection, to address: SocketAddress) throws(IOError) {
        let r = address.withSockAddr { Glibc.connect(c.fd, $0, $1) }
        if r != 0 {
            let e = errno
            if e != EINPROGRESS { throw Syscall.error("connect \(address)", e) }
        }
        // Completion (or failure) shows up as writability.
        slots[Int(c.slot)].wantsWritable = true
        try startReading(c)
    }

    func connectFinished(_ c: TCPConnection) {
        slots[Int(c.slot)].wantsWritable = false
    }

    @inline(__always)
    func writableReady(_ c: TCPConnection) -> Bool {
        let s = Int(c.slot)
        guard slots[s].wantsWritable else { return false }
        slots[s].wantsWritable = false
        return true
    }

    @inline(__always)
    func read(_ c: TCPConnection) -> ReadOutcome {
        do throws(IOError) {
            guard let n = try Syscall.nonBlocking("read", { Glibc.read(c.fd, readBuffer.baseAddress, readBuffer.count) }) else {
                return .wouldBlock
            }
            if n == 0 { return .endOfFile }
            return .bytes(UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<n]), filled: n == readBuffer.count)
        } catch {
            return .failed(errno: error.errno)
        }
    }

    @inline(__always)
    func flush(_ c: TCPConnection, pool: inout BufferPool, sent: inout UInt64) -> FlushOutcome {
        let s = Int(c.slot)
        while !c.outbound.isEmpty {
            if slots[s].wantsWritable { return .pending }  // EPOLLOUT will call us
            let iov = iovecs
            let n = c.outbound.withSpans(max: iovecCapacity, lock: false) { span, i in
                iov[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: span.baseAddress), iov_len: span.count)
            }
            var msg = msghdr()
            msg.msg_iov = iov
            msg.msg_iovlen = n
            let w: Int?
            do throws(IOError) {
                w = try Syscall.nonBlocking("sendmsg") { sendmsg(c.fd, &msg, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            } catch {
                return .failed(operation: "sendmsg", errno: error.errno)
            }
            guard let w else {
                slots[s].wantsWritable = true
                do throws(IOError) { try startReading(c) } catch { return .failed(operation: "epoll_ctl(MOD)", errno: error.errno) }
                return .pending
            }
            sent &+= UInt64(w)
            c.outbound.consume(w, pool: &pool)
        }
        if slots[s].wantsWritable {
            slots[s].wantsWritable = false
            do throws(IOError) { try startReading(c) } catch { return .failed(operation: "epoll_ctl(MOD)", errno: error.errno) }
        }
        return .drained
    }

    func pollWritable(_ c: TCPConnection) {}

    func receivedBytes(_ completion: Completion) -> UnsafeMutableRawPointer? { nil }

    func recycleBuffer(_ completion: Completion) {}

    // MARK: Watches (libcurl's descriptors: `foreign`, so a descriptor libcurl already closed
    // does not trap; the kernel dropped it from the set then anyway)

    func addWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        let ev = Self.watchEvents(readable, writable)
        let ud = UserData(.watch, slot: UInt32(id), generation: generation).raw
        do throws(IOError) {
            try Syscall.epollControl(epfd, EPOLL_CTL_ADD, fd, events: ev, data: ud, foreign: true)
        } catch where error.errno == EEXIST {
            // libcurl reused a descriptor number we still had registered: take it over.
            _ = try? Syscall.epollControl(epfd, EPOLL_CTL_MOD, fd, events: ev, data: ud, foreign: true)
        } catch {}
    }

    func modifyWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        let ev = Self.watchEvents(readable, writable)
        _ = try? Syscall.epollControl(epfd, EPOLL_CTL_MOD, fd, events: ev, data: UserData(.watch, slot: UInt32(id), generation: generation).raw, foreign: true)
    }

    func removeWatch(id: Int, fd: Int32) {
        _ = try? Syscall.epollControl(epfd, EPOLL_CTL_DEL, fd, events: 0, data: 0, foreign: true)
    }

    func watchDelivered(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {}

    private static func watchEvents(_ readable: Bool, _ writable: Bool) -> UInt32 {
        var ev: UInt32 = 0
        if readable { ev |= EPOLLIN.rawValue }
        if writable { ev |= EPOLLOUT.rawValue }
        return ev
    }
}
