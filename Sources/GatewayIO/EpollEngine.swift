internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// The readiness-based engine: level-triggered epoll, one shared read buffer per loop, writes with
/// `sendmsg` at the end of each tick and `EPOLLOUT` only after a short write. It emulates the
/// completion model of the io_uring engine (TigerBeetle's darwin.zig does the same with kqueue).
final class EpollEngine {
    let epfd: Int32
    let wakeFd: Int32
    unowned(unsafe) var loop: EventLoop!
    private let events: UnsafeMutablePointer<epoll_event>
    private let eventCapacity: Int32 = 512
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let iovecs: UnsafeMutablePointer<iovec>
    private let iovecCapacity = 64

    init() throws(IOError) {
        let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard ep >= 0 else { throw IOError("epoll_create1", errno: errno) }
        let ev = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard ev >= 0 else {
            let e = errno
            Glibc.close(ep)
            throw IOError("eventfd", errno: e)
        }
        epfd = ep
        wakeFd = ev
        events = .allocate(capacity: Int(eventCapacity))
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        iovecs = .allocate(capacity: iovecCapacity)
        var e = epoll_event()
        e.events = EPOLLIN.rawValue
        e.data.u64 = UserData(.wake, slot: 0).raw
        epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, &e)
    }

    func attach(_ loop: EventLoop) { self.loop = loop }

    func teardown() {
        Glibc.close(epfd)
        Glibc.close(wakeFd)
        events.deallocate()
        readBuffer.deallocate()
        iovecs.deallocate()
    }

    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFd, &one, 8)
    }

    // MARK: Listeners

    func addListener(_ l: Listener) {
        var e = epoll_event()
        e.events = EPOLLIN.rawValue
        e.data.u64 = UserData(.accept, slot: UInt32(l.id)).raw
        epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, &e)
    }

    func removeListener(_ l: Listener) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, l.fd, nil)
        Glibc.close(l.fd)
    }

    private func acceptReady(_ l: Listener) {
        // Bounded per tick so a connection storm cannot starve established connections.
        for _ in 0..<256 {
            let fd = cgw_accept4(l.fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd >= 0 {
                loop.acceptedDescriptor(fd, listener: l)
                continue
            }
            let e = errno
            switch e {
            case EINTR, ECONNABORTED, EPROTO, EPERM:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: stop watching the listener for a moment rather than
                // spinning on a level-triggered event we cannot clear.
                epoll_ctl(epfd, EPOLL_CTL_DEL, l.fd, nil)
                if l.retryTimer == nil {
                    l.retryTimer = loop.makeTimer { [unowned self, unowned l] in
                        if !l.closed { self.addListener(l) }
                    }
                }
                l.retryTimer?.schedule(afterNanos: Listener.descriptorExhaustionBackoffNanos)
                return
            default:
                return
            }
        }
    }

    // MARK: Connections

    func register(_ c: TCPConnection) {
        c.epollEvents = interest(c)
        var e = epoll_event()
        e.events = c.epollEvents
        e.data.u64 = UserData(.connection, slot: c.slot, generation: c.generation).raw
        if epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &e) != 0 {
            c.abort(error: IOError("epoll_ctl(ADD)", errno: errno))
        }
    }

    private func interest(_ c: TCPConnection) -> UInt32 {
        var ev: UInt32 = 0
        if !c.readPaused && !c.eof && !c.connecting { ev |= EPOLLIN.rawValue }
        if c.wantsWritable { ev |= EPOLLOUT.rawValue }
        return ev
    }

    func updateInterest(_ c: TCPConnection) {
        switch c.closeState {
        case .closing, .closed: return
        default: break
        }
        let ev = interest(c)
        guard ev != c.epollEvents else { return }
        c.epollEvents = ev
        var e = epoll_event()
        e.events = ev
        e.data.u64 = UserData(.connection, slot: c.slot, generation: c.generation).raw
        epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &e)
    }

    func deregister(_ c: TCPConnection) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nil)
    }

    func startConnect(_ c: TCPConnection, to address: SocketAddress) {
        let r = address.withSockAddr { Glibc.connect(c.fd, $0, $1) }
        let err = r == 0 ? 0 : errno
        if r != 0 && err != EINPROGRESS {
            c.abort(error: IOError("connect \(address)", errno: err))
            return
        }
        // Completion (or failure) shows up as writability.
        c.wantsWritable = true
        register(c)
    }

    private func connectReady(_ c: TCPConnection) {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len)
        c.wantsWritable = false
        if err != 0 {
            c.abort(error: IOError("connect", errno: err))
            return
        }
        loop.connected(c)
        updateInterest(c)
    }

    private func readReady(_ c: TCPConnection) {
        // Read until the socket is empty, the buffer was not filled, or a fairness bound is hit.
        for _ in 0..<4 {
            if c.readPaused && c.closeState == .open { return }
            let n = Glibc.read(c.fd, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                loop.deliver(c, UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<n]))
                if n < readBuffer.count { return }
                switch c.closeState {
                case .closing, .closed: return
                default: continue
                }
            } else if n == 0 {
                loop.deliverEOF(c, error: nil)
                updateInterest(c)
                return
            } else {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK { return }
                if e == EINTR { continue }
                loop.deliverEOF(c, error: IOError("read", errno: e))
                updateInterest(c)
                return
            }
        }
    }

    func flush(_ c: TCPConnection) {
        switch c.closeState {
        case .open, .flushing: break
        default: return
        }
        if c.connecting { return }
        while !c.outbound.isEmpty {
            if c.wantsWritable { return }  // EPOLLOUT will call us
            let iov = iovecs
            let n = c.outbound.withSpans(max: iovecCapacity, lock: false) { span, i in
                iov[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: span.baseAddress), iov_len: span.count)
            }
            var msg = msghdr()
            msg.msg_iov = iov
            msg.msg_iovlen = n
            let w = sendmsg(c.fd, &msg, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if w >= 0 {
                loop.bytesSent &+= UInt64(w)
                c.outbound.consume(w, pool: &loop.bufferPool)
                continue
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                c.wantsWritable = true
                updateInterest(c)
                return
            }
            c.abort(error: IOError("sendmsg", errno: e))
            return
        }
        if c.wantsWritable {
            c.wantsWritable = false
            updateInterest(c)
        }
        loop.didDrain(c)
    }

    // MARK: Watches

    func addWatch(_ i: Int) {
        var e = epoll_event()
        e.events = watchEvents(i)
        e.data.u64 = UserData(.watch, slot: UInt32(i), generation: loop.watches[i].generation).raw
        if epoll_ctl(epfd, EPOLL_CTL_ADD, loop.watches[i].fd, &e) != 0 && errno == EEXIST {
            epoll_ctl(epfd, EPOLL_CTL_MOD, loop.watches[i].fd, &e)
        }
    }

    func modifyWatch(_ i: Int) {
        var e = epoll_event()
        e.events = watchEvents(i)
        e.data.u64 = UserData(.watch, slot: UInt32(i), generation: loop.watches[i].generation).raw
        epoll_ctl(epfd, EPOLL_CTL_MOD, loop.watches[i].fd, &e)
    }

    func removeWatch(_ i: Int) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, loop.watches[i].fd, nil)
    }

    private func watchEvents(_ i: Int) -> UInt32 {
        var ev: UInt32 = 0
        if loop.watches[i].readable { ev |= EPOLLIN.rawValue }
        if loop.watches[i].writable { ev |= EPOLLOUT.rawValue }
        return ev
    }

    // MARK: Waiting

    func wait(timeoutNanos: UInt64) {
        // Round up so a timer due in 0.3 ms does not turn into a busy 0 ms wait.
        let ms = Int32(min((timeoutNanos + 999_999) / 1_000_000, 60_000))
        let n = epoll_wait(epfd, events, eventCapacity, ms)
        loop.now = Syscall.monotonicNanos()
        guard n > 0 else { return }
        for k in 0..<Int(n) {
            let ev = events[k]
            let ud = UserData(raw: ev.data.u64)
            let flags = ev.events
            switch ud.op {
            case .connection:
                guard let c = loop.connection(for: ud) else { continue }
                if c.connecting {
                    if flags & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { connectReady(c) }
                    continue
                }
                if c.eof && flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    // Both directions are dead and the handler already saw EOF: nothing left to do
                    // but close (otherwise the always-reported HUP would make the loop spin).
                    c.abort()
                    continue
                }
                if flags & EPOLLOUT.rawValue != 0 && c.wantsWritable {
                    c.wantsWritable = false
                    flush(c)
                    updateInterest(c)
                }
                if flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    readReady(c)
                }
            case .accept:
                let id = Int(ud.slot)
                if id < loop.listeners.count, let l = loop.listeners[id], !l.closed { acceptReady(l) }
            case .watch:
                loop.watchReady(
                    ud, readable: flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue) != 0,
                    writable: flags & EPOLLOUT.rawValue != 0, error: flags & EPOLLERR.rawValue != 0)
            case .wake:
                var v: UInt64 = 0
                _ = Glibc.read(wakeFd, &v, 8)
            default:
                break
            }
        }
    }
}
