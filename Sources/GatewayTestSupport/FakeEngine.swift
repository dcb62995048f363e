package import GatewayIO
internal import Glibc

/// A completion engine that plays the kernel for deterministic loop tests (SwiftNIO's
/// `SyscallAbstractionLayer` is the model). Operations the loop submits are recorded in order in
/// `submitted` when `wait` runs (as a real ring submits at `io_uring_enter`); completions the test
/// schedules with `complete`/`receive` are returned by the next `wait`, in order. Nothing happens
/// on its own: drive the loop with `EventLoop.runOnce()` on the test's thread.
///
/// Like the io_uring engine it has a bounded submission queue (`submissionQueueEntries`): an
/// operation that finds it full, or finds earlier work parked, is parked on a FIFO and enters the
/// queue in a later `wait`, in order.
package final class FakeEngine: IOEngine {
    /// An operation as the fake kernel sees it.
    package enum Operation: Equatable, CustomStringConvertible {
        case accept(listener: Int)
        case recv(slot: UInt32, generation: UInt32)
        case send(slot: UInt32, generation: UInt32, bytes: [UInt8])
        case sendPoll(slot: UInt32, generation: UInt32)
        case connect(slot: UInt32, generation: UInt32)
        case cancel(UserData)
        case poll(watch: Int, generation: UInt32)

        package var description: String {
            switch self {
            case .accept(let l): "accept(\(l))"
            case .recv(let s, let g): "recv(\(s)/\(g))"
            case .send(let s, let g, let b): "send(\(s)/\(g), \(b.count) bytes)"
            case .sendPoll(let s, let g): "sendPoll(\(s)/\(g))"
            case .connect(let s, let g): "connect(\(s)/\(g))"
            case .cancel(let ud): "cancel(\(ud.op.map { "\($0)" } ?? "?") \(ud.slot)/\(ud.generation))"
            case .poll(let w, let g): "poll(\(w)/\(g))"
            }
        }
    }

    private struct Slot {
        var generation: UInt32 = 0
        var recvArmed = false
        var sendInFlight = false
        var connecting = false
    }

    /// Size of the fake submission queue.
    package let submissionQueueEntries: Int
    /// Every operation the fake kernel received, oldest first.
    package private(set) var submitted: [Operation] = []
    /// Operations in the submission queue, not yet submitted.
    package private(set) var queued: [Operation] = []
    private var parked = RingQueue<Operation>()
    private var scheduled: [Completion] = []
    private var slots: [Slot] = []
    /// Receive buffers, one per scheduled `receive`, as provided buffers are in io_uring.
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    private var freeBuffers: [Int] = []
    /// Number of `wait` calls so far.
    package private(set) var waits = 0
    /// True while `wait` runs: a handler that sees it set was called from inside the engine.
    package private(set) var insideWait = false
    /// Buffers handed back by the loop after delivery.
    package private(set) var recycled = 0

    /// A fake with a submission queue of `submissionQueueEntries` (4096 like the real default).
    package init(submissionQueueEntries: Int = 4096) {
        self.submissionQueueEntries = submissionQueueEntries
    }

    /// Operations parked because the submission queue was full.
    package var parkedCount: Int { parked.count }

    // MARK: What the test does

    /// Schedules `completion` for the next `wait`.
    package func complete(_ completion: Completion) { scheduled.append(completion) }

    /// Schedules a multishot receive completion that carries `bytes` (in a fake provided buffer)
    /// for the connection in `slot` with `generation`; the receive stays armed (F_MORE).
    package func receive(_ bytes: [UInt8], slot: UInt32, generation: UInt32) {
        let id: Int
        if let f = freeBuffers.popLast() { id = f } else {
            id = buffers.count
            buffers.append(.allocate(byteCount: 64 * 1024, alignment: 16))
        }
        bytes.withUnsafeBytes { buffers[id].copyMemory(from: $0) }
        complete(Completion(
            userData: UserData(.recv, slot: slot, generation: generation), result: Int32(bytes.count),
            flags: Completion.bufferFlag | Completion.moreFlag | UInt32(id) << Completion.bufferShift))
    }

    // MARK: IOEngine

    package func wait(timeoutNanos: UInt64, into buffer: UnsafeMutableBufferPointer<Completion>) -> Int {
        insideWait = true
        defer { insideWait = false }
        waits += 1
        // io_uring_enter: the queue goes to the kernel, then parked work fills the freed entries
        // (and is submitted in turn) until none is left.
        submitted += queued
        queued.removeAll()
        while let op = parked.pop() {
            queued.append(op)
            if queued.count == submissionQueueEntries {
                submitted += queued
                queued.removeAll()
            }
        }
        submitted += queued
        queued.removeAll()
        let n = min(scheduled.count, buffer.count)
        for i in 0..<n {
            let c = scheduled[i]
            account(c)
            buffer[i] = c
        }
        scheduled.removeFirst(n)
        return n
    }

    private func account(_ c: Completion) {
        let s = Int(c.userData.slot)
        guard s < slots.count, slots[s].generation == c.userData.generation else { return }
        switch c.userData.op {
        case .recv: if !c.hasMore { slots[s].recvArmed = false }
        case .send, .sendPoll: slots[s].sendInFlight = false
        case .connect: slots[s].connecting = false
        default: break
        }
    }

    private func submit(_ op: Operation) {
        if !parked.isEmpty || queued.count == submissionQueueEntries {
            parked.push(op)
        } else {
            queued.append(op)
        }
    }

    package func wake() {}

    package func teardown() {
        for b in buffers { b.deallocate() }
        buffers.removeAll()
    }

    package var usesNonBlockingSockets: Bool { false }

    package func addListener(fd: Int32, id: Int) throws(IOError) { submit(.accept(listener: id)) }
    package func removeListener(fd: Int32, id: Int) { submit(.cancel(UserData(.accept, slot: UInt32(id)))) }
    package func accept(_ fd: Int32) -> AcceptOutcome { .wouldBlock }

    package func open(_ c: TCPConnection) {
        let s = Int(c.slot)
        while slots.count <= s { slots.append(Slot()) }
        slots[s] = Slot(generation: c.generation)
    }

    package func startReading(_ c: TCPConnection) throws(IOError) {
        let s = Int(c.slot)
        guard !slots[s].recvArmed, c.wantsToReceive else { return }
        slots[s].recvArmed = true
        submit(.recv(slot: c.slot, generation: c.generation))
    }

    package func updateReading(_ c: TCPConnection) throws(IOError) {
        if c.readPaused {
            if slots[Int(c.slot)].recvArmed { submit(.cancel(UserData(.recv, slot: c.slot, generation: c.generation))) }
        } else {
            try startReading(c)
        }
    }

    package func startConnect(_ c: TCPConnection, to address: SocketAddress) throws(IOError) {
        slots[Int(c.slot)].connecting = true
        submit(.connect(slot: c.slot, generation: c.generation))
    }

    package func connectFinished(_ c: TCPConnection) {}

    package func flush(_ c: TCPConnection, pool: inout BufferPool, sent: inout UInt64) -> FlushOutcome {
        let s = Int(c.slot)
        if slots[s].sendInFlight { return .pending }
        if c.outbound.isEmpty { return .drained }
        var bytes: [UInt8] = []
        _ = c.outbound.withSpans(max: 16, lock: true) { span, _ in bytes += span }
        slots[s].sendInFlight = true
        submit(.send(slot: c.slot, generation: c.generation, bytes: bytes))
        return .pending
    }

    package func pollWritable(_ c: TCPConnection) {
        slots[Int(c.slot)].sendInFlight = true
        submit(.sendPoll(slot: c.slot, generation: c.generation))
    }

    package func writableReady(_ c: TCPConnection) -> Bool { false }
    package func read(_ c: TCPConnection) -> ReadOutcome { .wouldBlock }

    package func receivedBytes(_ completion: Completion) -> UnsafeMutableRawPointer? {
        guard completion.flags & Completion.bufferFlag != 0 else { return nil }
        return buffers[Int(completion.flags >> Completion.bufferShift)].baseAddress
    }

    package func recycleBuffer(_ completion: Completion) {
        guard completion.flags & Completion.bufferFlag != 0 else { return }
        freeBuffers.append(Int(completion.flags >> Completion.bufferShift))
        recycled += 1
    }

    package func cancelOperations(_ c: TCPConnection) {
        let slot = slots[Int(c.slot)]
        if slot.connecting { submit(.cancel(UserData(.connect, slot: c.slot, generation: c.generation))) }
        if slot.recvArmed { submit(.cancel(UserData(.recv, slot: c.slot, generation: c.generation))) }
        if slot.sendInFlight { submit(.cancel(UserData(.send, slot: c.slot, generation: c.generation))) }
    }

    package func hasOperationsInFlight(_ c: TCPConnection) -> Bool {
        let slot = slots[Int(c.slot)]
        return slot.recvArmed || slot.sendInFlight || slot.connecting
    }

    package func addWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        submit(.poll(watch: id, generation: generation))
    }
    package func modifyWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        submit(.poll(watch: id, generation: generation))
    }
    package func removeWatch(id: Int, fd: Int32) {}
    package func watchDelivered(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {}
}
