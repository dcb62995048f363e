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
