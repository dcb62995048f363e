internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// An error from a system call or an io_uring completion: the operation that failed and its errno.
public struct IOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failing operation, for example `accept4` or `io_uring_setup`.
    public var operation: String
    /// The errno value (positive).
    public var errno: Int32

    /// Creates an error for `operation` failing with `errno`.
    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// `operation: NAME (message)`, e.g. `connect: ECONNREFUSED (Connection refused)`.
    public var description: String {
        "\(operation): \(IOError.name(of: errno)) (\(String(cString: strerror(errno))))"
    }

    /// The symbolic name of common errno values (`EPERM`, `ENOSYS`…), or the number.
    public static func name(of code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case EPIPE: "EPIPE"
        case ENOSYS: "ENOSYS"
        case ENOBUFS: "ENOBUFS"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ECONNABORTED: "ECONNABORTED"
        case ECONNRESET: "ECONNRESET"
        case ECONNREFUSED: "ECONNREFUSED"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECANCELED: "ECANCELED"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case ETIME: "ETIME"
        default: "errno \(code)"
        }
    }
}

/// Thin wrappers over system calls: retry on EINTR, turn -1 into a typed error.
enum Syscall {
    /// Runs `body` until it does not fail with EINTR. Returns the result or throws `IOError`.
    @inline(__always)
    static func call<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(IOError) -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw IOError(name(), errno: e)
        }
    }

    /// Like `call` but returns nil for EAGAIN/EWOULDBLOCK instead of throwing.
    @inline(__always)
    static func nonBlocking<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(IOError) -> T? {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return nil }
            throw IOError(name(), errno: e)
        }
    }

    /// Sets an integer socket option.
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(IOError) {
        var v = value
        _ = try call(label) { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Monotonic time in nanoseconds.
    @inline(__always)
    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
