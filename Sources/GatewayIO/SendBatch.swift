internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// Kernel-visible storage for one `sendmsg`: a msghdr and its iovecs. Allocated once, pooled per
/// io_uring engine and lent to a connection while its send is in flight (the kernel reads it until
/// the completion). A value of two pointers, so the engine's slot table stays trivial memory.
struct SendBatch {
    /// Most spans one send covers; the rest of the queue goes in the next send.
    static let maxSpans = 16
    let msg: UnsafeMutablePointer<msghdr>
    let iov: UnsafeMutablePointer<iovec>

    /// Allocates the storage.
    static func allocate() -> SendBatch {
        let msg = UnsafeMutablePointer<msghdr>.allocate(capacity: 1)
        msg.initialize(to: msghdr())
        return SendBatch(msg: msg, iov: .allocate(capacity: maxSpans))
    }

    /// Frees the storage; no send may be using it.
    func deallocate() {
        msg.deallocate()
        iov.deallocate()
    }
}
