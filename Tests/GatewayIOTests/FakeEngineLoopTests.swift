import CGatewayShims
import GatewayIO
import GatewayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Records what a connection's handler sees, and whether it was called from inside the engine.
final class RecordingHandler: ConnectionHandler, AcceptHandler {
    let engine: FakeEngine
    var events: [String] = []
    var connections: [TCPConnection] = []
    var calledInsideEngine = false
    var echo = false
    init(engine: FakeEngine) { self.engine = engine }

    private func note(_ s: String) {
        if engine.insideWait { calledInsideEngine = true }
        events.append(s)
    }
    func accepted(_ connection: TCPConnection) {
        connection.handler = self
        connections.append(connection)
        note("accepted \(connections.count - 1)")
    }
    private func name(_ c: TCPConnection) -> Int { connections.firstIndex { $0 === c } ?? -1 }
    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        note("\(name(connection)): \(String(decoding: bytes, as: UTF8.self))")
        if echo { connection.write(bytes: UnsafeRawBufferPointer(bytes)) }
    }
    func connectionDidReachEOF(_ connection: TCPConnection) { note("\(name(connection)): eof") }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidTimeOut(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: IOError?) { note("\(name(connection)): closed") }
}

/// A loop on the fake engine, a listener, and the far ends of the connections it "accepts".
final class FakeLoopFixture {
    let engine: FakeEngine
    let loop: EventLoop
    let handler: RecordingHandler
    let listenerID: Int
    private var peers: [Int32] = []

    init(submissionQueueEntries: Int = 4096) throws {
        engine = FakeEngine(submissionQueueEntries: submissionQueueEntries)
        loop = EventLoop(engine: engine)
        handler = RecordingHandler(engine: engine)
        let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        listenerID = try loop.addListener(socket, handler: handler)
    }

    /// Schedules an accept completion with a fresh socket (one end of a socketpair).
    func scheduleAccept() {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        peers.append(fds[1])
        engine.complete(Completion(
            userData: UserData(.accept, slot: UInt32(listenerID)), result: fds[0], flags: Completion.moreFlag))
    }

    func receive(_ text: String, on index: Int) {
        let c = handler.connections[index]
        engine.receive(Array(text.utf8), slot: c.slot, generation: c.generation)
    }

    deinit {
        loop.shutdown()
        for p in peers { close(p) }
    }
}

@Suite("Event loop on the fake engine")
struct FakeEngineLoopTests {
    @Test func completionsAreDispatchedInOrderAndNeverFromInsideTheEngine() throws {
        let f = try FakeLoopFixture()
        f.scheduleAccept()
        f.scheduleAccept()
        f.loop.runOnce()
        #expect(f.handler.connections.count == 2)
        f.receive("one", on: 0)
        f.receive("two", on: 1)
        f.receive("three", on: 0)
        f.loop.runOnce()
        #expect(f.handler.events == ["accepted 0", "accepted 1", "0: one", "1: two", "0: three"])
        #expect(!f.handler.calledInsideEngine)
        #expect(f.engine.recycled == 3)
    }

    @Test func writesFromHandlersAreSubmittedByTheNextWaitNotDuringDispatch() throws {
        let f = try FakeLoopFixture()
        f.handler.echo = true
        f.scheduleAccept()
        f.loop.runOnce()
        let c = f.handler.connections[0]
        f.receive("ping", on: 0)
        f.loop.runOnce()
        // The echo was queued during dispatch and flushed at the start of the next tick; only that
        // tick's wait hands it to the kernel.
        #expect(!f.engine.submitted.contains(.send(slot: c.slot, generation: c.generation, bytes: Array("ping".utf8))))
        f.loop.runOnce()
        #expect(f.engine.submitted.last == .send(slot: c.slot, generation: c.generation, bytes: Array("ping".utf8)))
        // Its completion releases the queue.
        f.engine.complete(Completion(userData: UserData(.send, slot: c.slot, generation: c.generation), result: 4))
        f.loop.runOnce()
        #expect(c.queuedBytes == 0)
        #expect(f.loop.bytesSent == 4)
    }

    @Test func staleCompletionAfterCloseIsDroppedByGeneration() throws {
        let f = try FakeLoopFixture()
        f.scheduleAccept()
        f.loop.runOnce()
        let first = f.handler.connections[0]
        let slot = first.slot, oldGeneration = first.generation
        first.abort()
        f.loop.runOnce()
        // The receive is still armed: the descriptor stays open and the handler is not told yet.
        #expect(f.engine.submitted.contains(.cancel(UserData(.recv, slot: slot, generation: oldGeneration))))
        #expect(!f.handler.events.contains("0: closed"))
        f.engine.complete(Completion(userData: UserData(.recv, slot: slot, generation: oldGeneration), result: -ECANCELED))
        f.loop.runOnce()
        f.loop.runOnce()
        #expect(f.handler.events.filter { $0 == "0: closed" }.count == 1)

        // The slot is reused by the next connection, with a new generation.
        f.scheduleAccept()
        f.loop.runOnce()
        let second = f.handler.connections[1]
        #expect(second.slot == slot)
        #expect(second.generation != oldGeneration)
        // A completion for the old generation (it was in the CQ when the slot changed hands) is
        // dropped; the buffer it carried still goes back to the kernel.
        f.engine.receive(Array("stale".utf8), slot: slot, generation: oldGeneration)
        f.receive("fresh", on: 1)
        f.loop.runOnce()
        #expect(!f.handler.events.contains { $0.hasSuffix("stale") })
        #expect(f.handler.events.last == "1: fresh")
        #expect(f.engine.recycled == 2)
    }

    @Test func fullSubmissionQueueParksWorkInOrder() throws {
        let f = try FakeLoopFixture(submissionQueueEntries: 2)
        f.loop.runOnce()  // submits the listener's accept
        for _ in 0..<5 { f.scheduleAccept() }
        f.loop.runOnce()
        // Five receives were requested during dispatch: two fit, three wait in order.
        #expect(f.handler.connections.count == 5)
        #expect(f.engine.queued.count == 2)
        #expect(f.engine.parkedCount == 3)
        // New work queues behind parked work, never ahead of it.
        f.handler.connections[0].pauseReading()
        #expect(f.engine.parkedCount == 4)
        f.loop.runOnce()
        #expect(f.engine.parkedCount == 0)
        let cs = f.handler.connections
        let expected: [FakeEngine.Operation] = cs.map { .recv(slot: $0.slot, generation: $0.generation) }
            + [.cancel(UserData(.recv, slot: cs[0].slot, generation: cs[0].generation))]
        #expect(Array(f.engine.submitted.suffix(6)) == expected)
        #expect(!f.handler.calledInsideEngine)
    }
}
