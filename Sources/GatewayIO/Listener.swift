internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// A bound, listening TCP socket that has not been handed to a loop yet. Created on the main thread
/// so that bind errors (address in use, permission) are reported before any loop starts.
public final class ListeningSocket: @unchecked Sendable {
    // @unchecked: the descriptor is handed over exactly once, from the creating thread to one loop,
    // before that loop starts; nothing touches it concurrently.
    private var fd: Int32
    /// The address it is bound to (with the actual port when 0 was requested).
    public let address: SocketAddress

    /// Binds and listens on `address`.
    /// - Parameters:
    ///   - reusePort: sets `SO_REUSEPORT` so each loop can bind its own socket to the same address
    ///     and the kernel spreads connections across them.
    ///   - backlog: the accept queue length; 4096 absorbs connection bursts (the kernel caps it at
    ///     `net.core.somaxconn`).
    ///
    /// The socket is created non-blocking; the io_uring engine switches it to blocking when it arms
    /// the accept (io_uring completes operations on non-blocking files with EAGAIN).
    public init(address: SocketAddress, reusePort: Bool = true, backlog: Int32 = 4096) throws(IOError) {
        let s = try Syscall.call("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(IOError) {
            try Syscall.setOption(s, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            if reusePort { try Syscall.setOption(s, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)") }
            _ = try Syscall.call("bind \(address)") { address.withSockAddr { bind(s, $0, $1) } }
            _ = try Syscall.call("listen \(address)") { listen(s, backlog) }
        } catch {
            Syscall.close(s)
            throw error
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound: SocketAddress? = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                getsockname(s, sa, &len) == 0 ? SocketAddress(storage: p) : nil
            }
        }
        self.fd = s
        self.address = bound ?? address
    }

    deinit {
        if fd >= 0 { Syscall.close(fd) }
    }

    /// Hands the descriptor to its new owner (a loop); this object no longer closes it.
    func takeDescriptor() -> Int32 {
        let f = fd
        fd = -1
        return f
    }
}

/// A listener registered on a loop.
final class Listener {
    let fd: Int32
    let handler: any AcceptHandler
    let id: Int
    unowned let loop: EventLoop
    /// Makes every accepted connection a TLS server connection.
    let tls: TLSServerContext?
    var closed = false
    /// Re-arms accepting after the process ran out of descriptors (EMFILE), without spinning.
    var retryTimer: LoopTimer?

    init(fd: Int32, handler: any AcceptHandler, id: Int, loop: EventLoop, tls: TLSServerContext?) {
        self.fd = fd
        self.tls = tls
        self.handler = handler
        self.id = id
        self.loop = loop
    }

    /// How long to stop accepting after EMFILE/ENFILE: long enough not to spin, short enough that
    /// accepting resumes promptly once descriptors are free again.
    static let descriptorExhaustionBackoffNanos: UInt64 = 100_000_000
}
