/// What a completion (io_uring `user_data`, epoll `data.u64`) refers to, packed into 64 bits so no
/// I/O operation needs an allocation or a closure: 8 bits of operation, 24 bits of generation and 32
/// bits of slot index. A completion whose generation no longer matches its slot's is stale (the
/// connection or watch was closed and the slot reused) and is ignored.
struct UserData: Equatable {
    /// The operation a completion belongs to.
    enum Op: UInt8 {
        case accept = 1
        case recv = 2
        case send = 3
        case sendPoll = 4
        case watch = 5
        case wake = 6
        case cancel = 7
        case close = 8
        case connection = 9  // epoll: readiness of a connection socket
        case nop = 10
        case connect = 11
    }

    /// The raw 64-bit value.
    var raw: UInt64

    init(raw: UInt64) { self.raw = raw }

    init(_ op: Op, slot: UInt32, generation: UInt32 = 0) {
        raw = UInt64(op.rawValue) << 56 | UInt64(generation & 0xFF_FFFF) << 32 | UInt64(slot)
    }

    var op: Op? { Op(rawValue: UInt8(truncatingIfNeeded: raw >> 56)) }
    var slot: UInt32 { UInt32(truncatingIfNeeded: raw) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF }
}
