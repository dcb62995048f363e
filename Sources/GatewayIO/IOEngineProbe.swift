internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// Decides at run time whether io_uring can be used, by doing what the engine will do: set up a ring,
/// register a provided-buffer ring, run a multishot accept and a multishot recv with buffer selection
/// on loopback. Anything less (an opcode probe) passes on kernels that lack the multishot variants.
public enum IOEngineProbe {
    /// The outcome of resolving a requested engine.
    public struct Resolution: Sendable {
        /// The engine to run.
        public var engine: IOEngineKind
        /// Why io_uring was not used when `auto` fell back to epoll (nil otherwise).
        public var fallbackReason: String?
    }

    /// Resolves `requested`: `epoll` stays epoll; `io_uring` must pass the probe (else throws with the
    /// reason); `auto` returns io_uring when the probe passes and epoll with the reason otherwise.
    public static func resolve(_ requested: IOEngineKind) throws(IOError) -> Resolution {
        switch requested {
        case .epoll:
            return Resolution(engine: .epoll, fallbackReason: nil)
        case .ioUring:
            if let reason = probeURing() { throw IOError("io_uring unavailable: \(reason)", errno: ENOSYS) }
            return Resolution(engine: .ioUring, fallbackReason: nil)
        case .auto:
            if let reason = probeURing() { return Resolution(engine: .epoll, fallbackReason: reason) }
            return Resolution(engine: .ioUring, fallbackReason: nil)
        }
    }

    /// Returns nil when io_uring works as the engine needs, else a human-readable reason such as
    /// `io_uring_setup: ENOSYS (blocked by seccomp?)`.
    public static func probeURing() -> String? {
        let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        ring.initialize(to: io_uring())
        defer { ring.deallocate() }
        var desc = ""
        let r = URingEngine.setupRing(ring, entries: 8, description: &desc)
        if r < 0 { return "io_uring_setup: \(IOError.name(of: -r))\(hint(-r))" }
        defer { io_uring_queue_exit(ring) }
        var err: Int32 = 0
        guard let br = cgw_buf_ring_setup(ring, 8, 0, &err) else {
            return "io_uring_register_buf_ring: \(IOError.name(of: -err)) (kernel older than 5.19?)"
        }
        defer { cgw_buf_ring_free(ring, br, 8, 0) }
        let bufs = UnsafeMutableRawPointer.allocate(byteCount: 8 * 64, alignment: 64)
        defer { bufs.deallocate() }
        for i in 0..<8 { cgw_buf_ring_add(br, bufs + i * 64, 64, UInt16(i), io_uring_buf_ring_mask(8), Int32(i)) }
        cgw_buf_ring_advance(br, 8)

        // Multishot accept on a loopback listener.
        guard let listener = try? ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false) else {
            return "probe: cannot create a loopback listener"
        }
        let lfd = listener.takeDescriptor()
        defer { close(lfd) }
        let fl = fcntl(lfd, F_GETFL)
        _ = fcntl(lfd, F_SETFL, fl & ~O_NONBLOCK)
        guard let s1 = io_uring_get_sqe(ring) else { return "probe: no SQE" }
        io_uring_prep_multishot_accept(s1, lfd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        io_uring_sqe_set_data64(s1, 1)
        io_uring_submit(ring)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { return "probe: socket: \(IOError.name(of: errno))" }
        defer { close(client) }
        let cr = listener.address.withSockAddr { connect(client, $0, $1) }
        if cr != 0 { return "probe: connect: \(IOError.name(of: errno))" }
        guard case .success(let acc) = waitOne(ring) else { return "probe: no accept completion" }
        if acc.res < 0 { return "multishot accept: \(IOError.name(of: -acc.res)) (kernel older than 5.19?)" }
        let server = acc.res
        defer { close(server) }
        if acc.flags & UInt32(IORING_CQE_F_MORE) == 0 { return "multishot accept not supported (kernel older than 5.19?)" }

        // Multishot recv with buffer selection.
        guard let s2 = io_uring_get_sqe(ring) else { return "probe: no SQE" }
        cgw_prep_recv_multishot_select(s2, server, 0, 2)
        io_uring_submit(ring)
        var byte: UInt8 = 42
        _ = send(client, &byte, 1, Int32(MSG_NOSIGNAL))
        guard case .success(let rc) = waitOne(ring) else { return "probe: no recv completion" }
        if rc.res < 0 { return "multishot recv: \(IOError.name(of: -rc.res)) (kernel older than 6.0?)" }
        if rc.flags & UInt32(IORING_CQE_F_BUFFER) == 0 || rc.flags & UInt32(IORING_CQE_F_MORE) == 0 {
            return "multishot recv with provided buffers not supported (kernel older than 6.0?)"
        }
        return nil
    }

    private struct Completion { var res: Int32; var flags: UInt32 }

    private static func waitOne(_ ring: UnsafeMutablePointer<io_uring>) -> Result<Completion, IOError> {
        var ts = __kernel_timespec(tv_sec: 2, tv_nsec: 0)
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        let r = io_uring_wait_cqe_timeout(ring, &cqe, &ts)
        guard r == 0, let c = cqe else { return .failure(IOError("io_uring_wait_cqe", errno: -r)) }
        let out = Completion(res: c.pointee.res, flags: c.pointee.flags)
        io_uring_cqe_seen(ring, c)
        return .success(out)
    }

    private static func hint(_ e: Int32) -> String {
        switch e {
        case ENOSYS: " (blocked by seccomp? containers need a profile allowing io_uring_setup/enter/register)"
        case EPERM: " (kernel.io_uring_disabled sysctl, or seccomp?)"
        case ENOMEM: " (RLIMIT_MEMLOCK too low?)"
        default: ""
        }
    }
}
