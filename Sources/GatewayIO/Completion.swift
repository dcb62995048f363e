/// One finished operation or readiness event, as an engine hands it to its loop: a plain 16-byte
/// value written into the loop's `CompletionBuffer`, so reaping allocates nothing.
///
/// The meaning of `result` and `flags` follows io_uring's CQE: `result` is the operation's return
/// value (bytes, a descriptor, a poll mask) or `-errno`, `flags` are CQE flags. The epoll engine
/// reports readiness with the epoll events in `flags` (and, for watches, the same bits in `result`:
/// poll(2) and epoll share the values of IN/OUT/ERR/HUP).
package struct Completion: Equatable, Sendable {
    /// What the completion refers to.
    package var userData: UserData
    /// The result or `-errno`.
    package var result: Int32
    /// CQE flags (completion model) or epoll events (readiness model).
    package var flags: UInt32

    /// Creates a completion.
    @inline(__always)
    package init(userData: UserData, result: Int32, flags: UInt32 = 0) {
        self.userData = userData
        self.result = result
        self.flags = flags
    }

    // The kernel ABI values, as literals: reading the C macros through a shim function costs a call
    // per completion, and these values never change (include/uapi/linux/io_uring.h, eventpoll.h).

    /// `IORING_CQE_F_BUFFER`: `flags >> bufferShift` is the id of the provided buffer used.
    package static let bufferFlag: UInt32 = 1 << 0
    /// `IORING_CQE_F_MORE`: a multishot operation stays armed; more completions follow.
    package static let moreFlag: UInt32 = 1 << 1
    /// `IORING_CQE_BUFFER_SHIFT`.
    package static let bufferShift: UInt32 = 16

    /// `EPOLLIN` / `POLLIN`.
    package static let readable: UInt32 = 0x001
    /// `EPOLLOUT` / `POLLOUT`.
    package static let writable: UInt32 = 0x004
    /// `EPOLLERR` / `POLLERR`.
    package static let error: UInt32 = 0x008
    /// `EPOLLHUP` / `POLLHUP`.
    package static let hangUp: UInt32 = 0x010

    /// Whether a multishot operation stays armed after this completion.
    @inline(__always)
    package var hasMore: Bool { flags & Self.moreFlag != 0 }
}

/// Where an engine's `wait` writes completions: one preallocated array owned by the loop, reused
/// every tick (no per-tick allocation, no growing `Array`).
struct CompletionBuffer {
    /// How many completions one `wait` may return. 512 matches the epoll engine's old event array and
    /// is twice the io_uring CQE batch; anything left waits one tick, where it is reaped without
    /// blocking.
    static let capacity = 512

    let storage: UnsafeMutableBufferPointer<Completion>

    init() {
        storage = .allocate(capacity: Self.capacity)
    }

    /// Frees the storage (loop shutdown).
    func deallocate() { storage.deallocate() }
}
