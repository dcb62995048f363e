internal import Synchronization

/// What the main thread and the event loops share while a run is in progress. Everything is an
/// atomic: loops only ever add to counters or read the phase, the main thread sets the phase and
/// polls the counters (every few milliseconds, so relaxed ordering is enough for counters).
final class RunControl: Sendable {
    private let phaseValue = Atomic<Int>(BenchPhase.connect.rawValue)
    /// Connections that finished connecting, successfully or not (not the publisher's).
    let connectionsDone = Atomic<Int>(0)
    /// Connections whose handshake succeeded (not the publisher's).
    let connectionsOK = Atomic<Int>(0)
    /// Sockets currently open, across all loops; the close phase waits for 0.
    let openSockets = Atomic<Int>(0)
    /// Fanout: measured deliveries so far (lets the grace period end early).
    let measuredDeliveries = Atomic<UInt64>(0)
    /// rtt open loop: CLOCK_MONOTONIC ns of the schedule's first slot (set before the warm-up starts).
    let scheduleStart = Atomic<UInt64>(0)
    /// rtt open loop, from the drain on: measured slots of the loops that reported, the measured
    /// replies they have received, and how many loops reported (the grace period can end early).
    let openLoopExpected = Atomic<UInt64>(0)
    let openLoopReplies = Atomic<UInt64>(0)
    let openLoopReported = Atomic<Int>(0)
    /// The publisher: 0 not ready yet, 1 ready (connected, or HTTP), 2 failed.
    let publisherState = Atomic<Int>(0)

    /// The current phase. Loops read it per message (a plain load on x86).
    var phase: BenchPhase {
        BenchPhase(rawValue: phaseValue.load(ordering: .acquiring)) ?? .close
    }

    /// Moves to `phase` (main thread).
    func enter(_ phase: BenchPhase) {
        phaseValue.store(phase.rawValue, ordering: .releasing)
    }
}
