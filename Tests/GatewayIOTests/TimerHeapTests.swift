@testable import GatewayIO
import GatewayTestSupport
import Testing

@Suite("Timer heap")
struct TimerHeapTests {
    private let loop = EventLoop(engine: FakeEngine())

    private func timer(_ log: Log, _ name: Int) -> LoopTimer { loop.makeTimer { log.names.append(name) } }

    final class Log { var names: [Int] = [] }

    @Test func popsInDeadlineOrderOnlyWhenDue() {
        var heap = TimerHeap()
        let log = Log()
        let deadlines: [UInt64] = [50, 10, 40, 30, 20, 60, 5]
        let timers = deadlines.indices.map { timer(log, $0) }
        for (t, d) in zip(timers, deadlines) { heap.schedule(t, deadline: d) }
        #expect(heap.nextDeadline == 5)
        #expect(heap.popExpired(now: 4) == nil)
        var order: [UInt64] = []
        while let t = heap.popExpired(now: 45) { order.append(t.deadline) }
        #expect(order == [5, 10, 20, 30, 40])
        #expect(heap.nextDeadline == 50)
        #expect(timers[0].isScheduled && !timers[1].isScheduled)
    }

    @Test func removeAndRescheduleKeepTheHeapValid() {
        var heap = TimerHeap()
        let log = Log()
        let timers = (0..<20).map { timer(log, $0) }
        // A scrambled but deterministic set of deadlines.
        for (i, t) in timers.enumerated() { heap.schedule(t, deadline: 1 + UInt64((i * 7919) % 101)) }
        heap.remove(timers[3])
        heap.remove(timers[3])  // twice: harmless
        heap.schedule(timers[5], deadline: 1000)  // moved to the back
        heap.schedule(timers[6], deadline: 0)  // moved to the front
        #expect(!timers[3].isScheduled)
        var last: UInt64 = 0
        var popped: [LoopTimer] = []
        while let t = heap.popExpired(now: .max) {
            #expect(t.deadline >= last)
            last = t.deadline
            popped.append(t)
        }
        #expect(popped.count == 19)
        #expect(popped.first === timers[6])
        #expect(popped.last === timers[5])
        #expect(heap.nextDeadline == nil)
    }

    @Test func cancellingAnUnscheduledTimerIsHarmless() {
        var heap = TimerHeap()
        let log = Log()
        let a = timer(log, 1), b = timer(log, 2)
        heap.remove(a)
        heap.schedule(b, deadline: 7)
        heap.remove(a)
        #expect(heap.popExpired(now: 7) === b)
    }
}
