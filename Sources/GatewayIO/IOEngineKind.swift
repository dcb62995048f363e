/// Which I/O engine a gateway process uses. Chosen at run time, never at compile time, because
/// containers commonly block io_uring with seccomp and the same binary must still run there.
public enum IOEngineKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Probe io_uring and fall back to epoll, logging why.
    case auto
    /// io_uring with multishot accept/recv and provided buffer rings. Fails to start if unavailable.
    case ioUring = "io_uring"
    /// epoll readiness with emulated completions.
    case epoll

    /// Parses `auto`, `io_uring` (also `uring`, `io-uring`) or `epoll`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "io_uring", "uring", "io-uring", "iouring": self = .ioUring
        case "epoll": self = .epoll
        default: return nil
        }
    }

    /// The configuration spelling.
    public var description: String { rawValue }
}
