/// What a completion (io_uring `user_data`, epoll `data.u64`) refers to, packed into 64 bits so no
/// I/O operation needs an allocation or a closure: 8 bits of operation, 24 bits of generation and 32
/// bits of slot index. A completion whose generation no longer matches its slot's is stale (the
/// connection or watch was closed and the slot reused) and is ignored.
package struct UserData: Equatable, Sendable {
    /// The operation a completion belongs to. Completion-model operations (io_uring, the fake engine)
    /// and readiness events (epoll) have separate cases, because the loop handles them differently.
    package enum Op: UInt8, Sendable {
        /// A connection accepted on listener `slot` (`result`: the descriptor or `-errno`).
        case accept = 1
        /// Bytes received on connection `slot` (`result`: byte count, 0 at EOF, or `-errno`).
        case recv = 2
        /// A send finished (`result`: bytes written or `-errno`).
        case send = 3
        /// The socket became writable after a send returned EAGAIN.
        case sendPoll = 4
        /// Readiness of watch `slot` (libcurl socket); `result` is a poll(2) mask or `-errno`.
        case watch = 5
        /// The engine's own wake-up; never reaches the loop.
        case wake = 6
        /// A cancellation finished; never reaches the loop.
        case cancel = 7
        /// epoll: readiness of connection `slot`; `flags` holds the epoll events.
        case connection = 9
        /// An outgoing connect finished (`result`: 0 or `-errno`).
        case connect = 11
        /// epoll: listener `slot` has connections waiting to be accepted.
        case acceptReady = 12
    }

    /// The raw 64-bit value.
    package var raw: UInt64

    /// Wraps a raw value (from a CQE or an epoll event).
    @inline(__always)
    package init(raw: UInt64) { self.raw = raw }

    /// Packs an operation, a slot and (the low 24 bits of) a generation.
    @inline(__always)
    package init(_ op: Op, slot: UInt32, generation: UInt32 = 0) {
        raw = UInt64(op.rawValue) << 56 | UInt64(generation & 0xFF_FFFF) << 32 | UInt64(slot)
    }

    /// The operation, or nil for a value this build does not know.
    @inline(__always)
    package var op: Op? { Op(rawValue: UInt8(truncatingIfNeeded: raw >> 56)) }
    /// The slot (connection, listener or watch index).
    @inline(__always)
    package var slot: UInt32 { UInt32(truncatingIfNeeded: raw) }
    /// The generation (24 bits).
    @inline(__always)
    package var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF }
}
