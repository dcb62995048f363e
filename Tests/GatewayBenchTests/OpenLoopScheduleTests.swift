import Testing

@testable import GatewayBench

@Suite struct OpenLoopScheduleTests {
    static let second: UInt64 = 1_000_000_000

    /// Every slot of `s` (by brute force from `time(ofSlot:)`), as (connection, message, time).
    static func allSlots(_ s: OpenLoopSchedule) -> [(c: Int, k: UInt64, t: UInt64)] {
        var out: [(c: Int, k: UInt64, t: UInt64)] = []
        var g: UInt64 = 0
        while true {
            let t = s.time(ofSlot: g)
            if t >= s.sendEnd { return out }
            out.append((Int(g % UInt64(s.connections)), g / UInt64(s.connections), t))
            g += 1
        }
    }

    @Test func slotsFollowTheRateWithoutDrift() {
        let s = OpenLoopSchedule(start: 5, rate: 1000, connections: 1, warmupNanos: 0, durationNanos: Self.second)
        #expect(s.time(ofSlot: 0) == 5)
        #expect(s.time(ofSlot: 3) == 5 + 3_000_000)
        // 1/3 s is not a whole number of ns; the millionth slot is still within 1 ns of 10⁶/3 s.
        let third = OpenLoopSchedule(start: 0, rate: 3, connections: 1, warmupNanos: 0, durationNanos: Self.second)
        #expect(third.time(ofSlot: 1) == 333_333_333)
        let far = third.time(ofSlot: 3_000_000)
        #expect(far >= 1_000_000 * Self.second - 1 && far <= 1_000_000 * Self.second)
    }

    @Test func connectionsAreStaggeredAcrossThePeriod() {
        // 100,000 msg/s over 100 connections: each sends every 1 ms, connection c at c × 10 µs.
        let s = OpenLoopSchedule(start: 0, rate: 100_000, connections: 100, warmupNanos: 0, durationNanos: Self.second)
        #expect(s.time(connection: 0, message: 0) == 0)
        #expect(s.time(connection: 7, message: 0) == 70_000)
        #expect(s.time(connection: 7, message: 2) == 2_070_000)
        #expect(s.time(connection: 7, message: 3) - s.time(connection: 7, message: 2) == 1_000_000)
        #expect(s.time(connection: 99, message: 0) == 990_000)
    }

    @Test func measuredWindowIsHalfOpen() {
        let s = OpenLoopSchedule(start: 100, rate: 10, connections: 1, warmupNanos: Self.second, durationNanos: 2 * Self.second)
        #expect(s.measureStart == 100 + Self.second)
        #expect(s.sendEnd == 100 + 3 * Self.second)
        #expect(!s.isMeasured(99 + Self.second))
        #expect(s.isMeasured(100 + Self.second))
        #expect(s.isMeasured(99 + 3 * Self.second))
        #expect(!s.isMeasured(100 + 3 * Self.second))
    }

    @Test(arguments: [
        (1000.0, 10, UInt64(1), UInt64(2)),
        (7.0, 3, UInt64(0), UInt64(1)),
        (333.3, 4, UInt64(1), UInt64(1)),
        (100_000.0, 100, UInt64(0), UInt64(1)),
        (5.0, 8, UInt64(0), UInt64(1)),  // fewer slots than connections: some connections get none
    ])
    func measuredSlotsMatchEnumeration(rate: Double, connections: Int, warmup: UInt64, duration: UInt64) {
        let s = OpenLoopSchedule(start: 12_345, rate: rate, connections: connections,
                                 warmupNanos: warmup * Self.second, durationNanos: duration * Self.second)
        let slots = Self.allSlots(s)
        var total: UInt64 = 0
        for c in 0..<connections {
            let want = UInt64(slots.filter { $0.c == c && s.isMeasured($0.t) }.count)
            #expect(s.measuredSlots(connection: c) == want, "connection \(c)")
            total += s.measuredSlots(connection: c)
        }
        // The window holds rate × duration slots, give or take one at each edge.
        let nominal = rate * Double(duration)
        #expect(abs(Double(total) - nominal) <= 1)
    }

    @Test func firstMessageAtOrAfterAnInstant() {
        let s = OpenLoopSchedule(start: 1000, rate: 100, connections: 4, warmupNanos: 0, durationNanos: Self.second)
        // Connection 1's messages are due at 1000 + 10 ms + k × 40 ms.
        #expect(s.firstMessage(connection: 1, atOrAfter: 0) == 0)
        #expect(s.firstMessage(connection: 1, atOrAfter: 1000 + 10_000_000) == 0)
        #expect(s.firstMessage(connection: 1, atOrAfter: 1001 + 10_000_000) == 1)
        #expect(s.firstMessage(connection: 1, atOrAfter: 1000 + 50_000_000) == 1)
        #expect(s.firstMessage(connection: 1, atOrAfter: 1001 + 50_000_000) == 2)
    }

    @Test func cursorYieldsOnlyItsConnectionsInDueOrder() {
        // 5 connections at 5 msg/s over 2 s; this loop owns connections 2, 3 and 4.
        let s = OpenLoopSchedule(start: 0, rate: 5, connections: 5, warmupNanos: 0, durationNanos: 2 * Self.second)
        var cursor = OpenLoopCursor(schedule: s, first: 2, count: 3)
        #expect(cursor.next(dueBy: 0) == nil)  // slot 0 and 1 belong to other loops
        #expect(cursor.nextTime == 400_000_000)
        #expect(cursor.next(dueBy: 399_999_999) == nil)
        #expect(cursor.next(dueBy: 400_000_000) == .init(local: 0, message: 0, time: 400_000_000))
        #expect(cursor.next(dueBy: 400_000_000) == nil)
        let want = Self.allSlots(s).filter { $0.c >= 2 }.dropFirst()
        var got: [OpenLoopCursor.Slot] = []
        while let slot = cursor.next(dueBy: UInt64.max) { got.append(slot) }
        #expect(got.count == want.count)
        for (g, w) in zip(got, want) {
            #expect(g.local == w.c - 2 && g.message == w.k && g.time == w.t)
        }
        #expect(cursor.nextTime == nil)
        #expect(cursor.next(dueBy: UInt64.max) == nil)
    }

    @Test func aLateWakeUpReturnsEverythingDueAtOnce() {
        // 100 msg/s on 2 connections; a wake-up 105 ms in owes slots at 0, 10, ..., 100 ms.
        let s = OpenLoopSchedule(start: 0, rate: 100, connections: 2, warmupNanos: 0, durationNanos: Self.second)
        var cursor = OpenLoopCursor(schedule: s, first: 0, count: 2)
        var due: [OpenLoopCursor.Slot] = []
        while let slot = cursor.next(dueBy: 105_000_000) { due.append(slot) }
        #expect(due.count == 11)
        #expect(due.map(\.local) == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        #expect(due.last?.message == 5)
        #expect(cursor.nextTime == 110_000_000)
    }

    @Test func aLoopWithoutConnectionsHasNoSlots() {
        let s = OpenLoopSchedule(start: 0, rate: 100, connections: 2, warmupNanos: 0, durationNanos: Self.second)
        var cursor = OpenLoopCursor(schedule: s, first: 2, count: 0)
        #expect(cursor.nextTime == nil)
        #expect(cursor.next(dueBy: UInt64.max) == nil)
    }
}
