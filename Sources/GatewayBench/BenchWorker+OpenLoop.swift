internal import Synchronization
internal import GatewayIO
internal import GatewayWebSocket

/// `rtt --rate`: open-loop sending. Each loop walks its connections' slots of the run's
/// `OpenLoopSchedule` with an `OpenLoopCursor`; a `PacingTimer` wakes the loop at the next due
/// slot, and each wake-up sends everything that has come due since (so when the loop falls behind,
/// it catches up in one batch instead of drifting). A reply is matched to the connection's oldest
/// outstanding message (as in the closed loop), and its latency runs from that message's *due* time.
///
/// `--max-in-flight`: a due message that would exceed it (or that queues behind one that did) is
/// held, not dropped: it goes as soon as a reply frees a slot, and its latency still counts from its
/// due time. Held sends are counted apart from client lateness, which is measured only on sends that
/// were free to go when they came due.
extension BenchWorker {
    /// Sends later than this after their due time count as late (client lateness).
    static let lateSendNanos: UInt64 = 1_000_000

    /// The warm-up began: builds this loop's cursor from the run's schedule and starts pacing.
    func startOpenLoop(_ openLoop: OpenLoopConfig) {
        guard openLoopCursor == nil, let first = clients.first?.index else { return }
        let schedule = OpenLoopSchedule(
            start: control.scheduleStart.load(ordering: .relaxed), rate: openLoop.rate, connections: config.connections,
            warmupNanos: MonotonicClock.nanos(seconds: config.warmupSeconds),
            durationNanos: MonotonicClock.nanos(seconds: config.durationSeconds))
        openLoopCursor = OpenLoopCursor(schedule: schedule, first: first, count: clients.count)
        for client in clients where client.isOpen { client.olStarted = true }
        guard let timer = PacingTimer(loop: loop, { [unowned self] in self.pace() }) else {
            stats.errIO += 1
            if stats.firstError == nil { stats.firstError = "timerfd_create failed: the open loop cannot pace" }
            return
        }
        pacer = timer
        pace()
    }

    /// A pacing wake-up: sends every slot due by now, then arms the timer for the next one.
    func pace() {
        guard var cursor = openLoopCursor, let pacer else { return }
        guard control.phase < .close else {
            pacer.disarm()
            return
        }
        let now = MonotonicClock.now()
        while let slot = cursor.next(dueBy: now) { slotDue(slot, schedule: cursor.schedule, now: now) }
        openLoopCursor = cursor
        // Not before `paceNanos` after this wake-up: what comes due meanwhile goes in one batch.
        if let next = cursor.nextTime { pacer.arm(at: Swift.max(next, now &+ (config.openLoop?.paceNanos ?? 0))) } else { pacer.disarm() }
    }

    /// One slot came due: send it now if the connection may, otherwise hold it.
    @inline(__always)
    private func slotDue(_ slot: OpenLoopCursor.Slot, schedule: OpenLoopSchedule, now: UInt64) {
        let client = clients[slot.local]
        guard client.olStarted, client.isOpen, let connection = client.connection else { return }
        client.olDue = slot.message &+ 1
        let measured = schedule.isMeasured(slot.time)
        if client.olSent < slot.message || client.olSent &- client.olAcked >= UInt64(config.openLoop?.maxInFlight ?? 1) {
            if measured { stats.openLoopHeld &+= 1 }
            return
        }
        sendScheduled(client, connection, measured: measured)
        if measured {
            let lag = now &- slot.time
            sendLag.record(lag)
            if lag > Self.lateSendNanos { stats.openLoopLate &+= 1 }
        }
    }

    /// Sends the connection's next unsent message.
    @inline(__always)
    private func sendScheduled(_ client: BenchClient, _ connection: TCPConnection, measured: Bool) {
        let n = config.message.render(into: scratch, seq: client.olSent, conn: UInt64(client.index), ts: MonotonicClock.now())
        client.olSent &+= 1
        let key = random.maskingKey()
        let payload = UnsafeRawBufferPointer(start: scratch, count: n)
        connection.write { WebSocketFrameEncoder.writeFrame(opcode: .text, payload: payload, maskingKey: key, into: &$0) }
        stats.sent &+= 1
        if measured { stats.openLoopSent &+= 1 }
    }

    /// A data message on an open-loop connection: answers the oldest outstanding message; records
    /// its latency from the due time when that was in the window (and the grace period is not over);
    /// then sends a held message, if any, into the freed slot.
    @inline(__always)
    func openLoopReply(_ client: BenchClient, _ connection: TCPConnection, now: UInt64) {
        guard client.olSent > client.olAcked, let schedule = openLoopCursor?.schedule else {
            stats.unsolicited &+= 1
            return
        }
        let due = schedule.time(connection: client.index, message: client.olAcked)
        client.olAcked &+= 1
        let phase = control.phase
        // From the close phase on the grace period is over: what arrives now was lost.
        if phase < .close && schedule.isMeasured(due) {
            stats.receivedMeasured &+= 1
            latency.record(now > due ? now &- due : 0)
            if openLoopReported { control.openLoopReplies.add(1, ordering: .relaxed) }
        }
        if client.olSent < client.olDue && phase < .close {
            let held = schedule.time(connection: client.index, message: client.olSent)
            sendScheduled(client, connection, measured: schedule.isMeasured(held))
        }
    }

    /// The drain began (the window is over, so every slot is due): sends what is still due, then
    /// adds this loop's expected and received counts to `control` so the runner can end the grace
    /// period as soon as every measured message is answered.
    func reportOpenLoop() {
        openLoopReported = true
        guard let schedule = openLoopCursor?.schedule else {
            control.openLoopReported.add(1, ordering: .relaxed)
            return
        }
        pace()
        var expected: UInt64 = 0
        for client in clients where client.olStarted { expected &+= schedule.measuredSlots(connection: client.index) }
        stats.openLoopExpected = expected
        control.openLoopExpected.add(expected, ordering: .relaxed)
        control.openLoopReplies.add(stats.receivedMeasured, ordering: .relaxed)
        control.openLoopReported.add(1, ordering: .relaxed)
    }
}
