internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// The one wrapper every system call of GatewayIO goes through (SwiftNIO's `System.swift` is the
/// model): EINTR is retried, `-1`/`-errno` becomes a typed `IOError`, and errno values that can only
/// mean a bug in this process trap instead of being handled.
///
/// "Unacceptable" errno values are EBADF and EFAULT: on a descriptor this module owns, EBADF means it
/// was closed twice or never opened (a later `open` could reuse the number, so carrying on risks
/// writing to someone else's file), and EFAULT means a pointer we passed was wrong. Neither can be
/// caused by the peer or the configuration, so they stop the process at the faulty call. Calls on
/// descriptors owned by someone else (libcurl's sockets) pass `foreign: true`, which turns the trap off.
enum Syscall {
    /// Whether `code` is a bug on a descriptor we own (see the type's documentation).
    @inline(__always)
    static func isUnacceptable(_ code: Int32) -> Bool { code == EBADF || code == EFAULT }

    /// Traps with the call's name and errno. `@inline(never)` keeps the message formatting off the
    /// callers' code paths.
    @inline(never)
    static func unacceptable(_ name: String, _ code: Int32) -> Never {
        preconditionFailure("unacceptable errno \(IOError.name(of: code)) from \(name): a bug in the gateway")
    }

    /// Maps a failed call's errno: traps on unacceptable values (unless `foreign`), else an error.
    @inline(never)
    static func error(_ name: String, _ code: Int32, foreign: Bool = false) -> IOError {
        if !foreign && isUnacceptable(code) { unacceptable(name, code) }
        return IOError(name, errno: code)
    }

    /// Runs `body` (a libc call returning `-1` and setting errno on failure) until it does not fail
    /// with EINTR. Returns the result or throws `IOError`.
    @inline(__always)
    static func call<T: FixedWidthInteger>(
        _ name: @autoclosure () -> String, foreign: Bool = false, _ body: () -> T
    ) throws(IOError) -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw error(name(), e, foreign: foreign)
        }
    }

    /// Like `call`, but returns nil for EAGAIN/EWOULDBLOCK (a non-blocking socket that is not ready).
    @inline(__always)
    static func nonBlocking<T: FixedWidthInteger>(
        _ name: @autoclosure () -> String, _ body: () -> T
    ) throws(IOError) -> T? {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return nil }
            throw error(name(), e)
        }
    }

    /// Checks the result of a liburing call, which returns `-errno` instead of setting errno.
    /// Returns the non-negative result or throws. Unacceptable values trap.
    @inline(__always)
    static func uring(_ name: @autoclosure () -> String, _ result: Int32) throws(IOError) -> Int32 {
        if result >= 0 { return result }
        throw error(name(), -result)
    }

    /// Closes a descriptor this module owns. EINTR is not retried: Linux has released the descriptor
    /// by then, and retrying could close a number another thread just received. EBADF traps (closed
    /// twice); other errors (EIO on a socket cannot happen) are ignored, as there is nothing to undo.
    @inline(__always)
    static func close(_ fd: Int32) {
        if Glibc.close(fd) != 0 {
            let e = Glibc.errno
            if isUnacceptable(e) { unacceptable("close", e) }
        }
    }

    /// Sets an integer socket option.
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(IOError) {
        var v = value
        _ = try call(label) { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Sets an integer socket option that only tunes behaviour (TCP_NODELAY, TCP_NOTSENT_LOWAT):
    /// failure leaves a working socket, so it is ignored; unacceptable errno values still trap.
    static func tuneOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            let e = Glibc.errno
            if isUnacceptable(e) { unacceptable("setsockopt", e) }
        }
    }

    /// `epoll_ctl`, with the operation's name in errors (`epoll_ctl(ADD)`).
    @inline(__always)
    static func epollControl(
        _ epfd: Int32, _ op: Int32, _ fd: Int32, events: UInt32, data: UInt64, foreign: Bool = false
    ) throws(IOError) {
        var e = epoll_event()
        e.events = events
        e.data.u64 = data
        _ = try call(epollOpName(op), foreign: foreign) { epoll_ctl(epfd, op, fd, &e) }
    }

    private static func epollOpName(_ op: Int32) -> String {
        switch op {
        case EPOLL_CTL_ADD: "epoll_ctl(ADD)"
        case EPOLL_CTL_MOD: "epoll_ctl(MOD)"
        default: "epoll_ctl(DEL)"
        }
    }

    /// Adds 1 to an eventfd counter (a wake-up). EAGAIN (counter saturated) means a wake-up is
    /// already pending, which is all the caller wants.
    @inline(__always)
    static func signal(eventFD fd: Int32) {
        var one: UInt64 = 1
        _ = try? nonBlocking("write(eventfd)") { Glibc.write(fd, &one, 8) }
    }

    /// Monotonic time in nanoseconds.
    @inline(__always)
    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
