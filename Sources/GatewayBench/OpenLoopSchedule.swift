/// The send times of an open-loop run (`rtt --rate`), with no I/O: which message is due when.
///
/// All connections share one arithmetic sequence of slots: slot `g` is due at
/// `start + ⌊g · 10⁹ / rate⌋` ns and belongs to connection `g % connections`, as that connection's
/// message `g / connections`. Each connection therefore sends every `connections / rate` seconds,
/// and connection `c` is offset by `c / rate` from connection 0, so the sends are spread evenly over
/// the period instead of bunching at its start.
///
/// Slots before `measureStart` are warm-up (sent, not counted); slots in `measureStart ..< sendEnd`
/// are measured; there are no slots at or after `sendEnd`. Latency is measured from a slot's due
/// time, not from when it actually went out, so a stall of the client or the server delays the
/// replies of every message scheduled during it (no coordinated omission).
struct OpenLoopSchedule: Equatable {
    /// CLOCK_MONOTONIC ns of slot 0.
    let start: UInt64
    /// Messages per second over all connections.
    let rate: Double
    /// Connections sharing the schedule.
    let connections: Int
    /// The first measured instant (end of the warm-up).
    let measureStart: UInt64
    /// No slot is due at or after this instant (end of the measured window).
    let sendEnd: UInt64
    /// ns between two consecutive slots of the whole schedule (`10⁹ / rate`).
    let interval: Double

    /// A schedule starting at `start` with `warmupNanos` of warm-up and `durationNanos` measured.
    init(start: UInt64, rate: Double, connections: Int, warmupNanos: UInt64, durationNanos: UInt64) {
        precondition(rate > 0 && rate.isFinite && connections > 0, "validated by RTTScenario")
        self.start = start
        self.rate = rate
        self.connections = connections
        measureStart = start &+ warmupNanos
        sendEnd = measureStart &+ durationNanos
        interval = 1e9 / rate
    }

    /// The due time of slot `g`. Computed from `g` each time (never accumulated), so it does not drift.
    @inline(__always)
    func time(ofSlot g: UInt64) -> UInt64 {
        start &+ UInt64((Double(g) * interval).rounded(.down))
    }

    /// The due time of message `k` of connection `connection`.
    @inline(__always)
    func time(connection: Int, message k: UInt64) -> UInt64 {
        time(ofSlot: k &* UInt64(connections) &+ UInt64(connection))
    }

    /// Whether a message due at `t` is counted (inside the measured window).
    @inline(__always)
    func isMeasured(_ t: UInt64) -> Bool { t >= measureStart && t < sendEnd }

    /// How many slots of `connection` are due in the measured window: what the connection is
    /// expected to send and get answered there.
    func measuredSlots(connection: Int) -> UInt64 {
        firstMessage(connection: connection, atOrAfter: sendEnd) - firstMessage(connection: connection, atOrAfter: measureStart)
    }

    /// The first message of `connection` due at or after `t`.
    func firstMessage(connection: Int, atOrAfter t: UInt64) -> UInt64 {
        guard t > start else { return 0 }
        let period = interval * Double(connections)
        let offset = interval * Double(connection)
        var k = UInt64(Swift.max(0, ((Double(t - start) - offset) / period).rounded(.up)))
        // The estimate can be one off either way after rounding; settle it on the exact times.
        while k > 0 && self.time(connection: connection, message: k - 1) >= t { k -= 1 }
        while self.time(connection: connection, message: k) < t { k += 1 }
        return k
    }
}

/// One loop's walk through its connections' slots of an `OpenLoopSchedule`, in due order. A loop
/// owns the connections `first ..< first + count`, so its slots are, round after round, those
/// connections in index order.
struct OpenLoopCursor {
    /// A slot that came due.
    struct Slot: Equatable {
        /// The connection, as an offset into the loop's range (0 ..< count).
        let local: Int
        /// The connection's message number.
        let message: UInt64
        /// When it was due.
        let time: UInt64
    }

    let schedule: OpenLoopSchedule
    let first: Int
    let count: Int
    /// The round (message number of every connection) of the next slot.
    private(set) var round: UInt64 = 0
    /// The connection (offset into the range) of the next slot.
    private(set) var local = 0

    /// A cursor at the loop's first slot.
    init(schedule: OpenLoopSchedule, first: Int, count: Int) {
        precondition(first >= 0 && count >= 0 && first + count <= schedule.connections)
        self.schedule = schedule
        self.first = first
        self.count = count
    }

    /// The due time of the next slot, or nil when the loop has no slot left (or no connections).
    var nextTime: UInt64? {
        guard count > 0 else { return nil }
        let t = schedule.time(connection: first + local, message: round)
        return t < schedule.sendEnd ? t : nil
    }

    /// The next slot if it is due by `now`, and moves past it; nil when nothing more is due yet.
    mutating func next(dueBy now: UInt64) -> Slot? {
        guard let t = nextTime, t <= now else { return nil }
        let slot = Slot(local: local, message: round, time: t)
        local += 1
        if local == count {
            local = 0
            round += 1
        }
        return slot
    }
}
