internal import GatewayIO
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Runs one scenario from the main thread: starts one event loop per `-t` (plus one for the fanout
/// publisher), walks the phases (connect → warm-up → window → drain/grace → close), then stops the
/// loops and merges what each one counted into a `BenchResult`.
///
/// The main thread only sleeps, polls `RunControl`'s counters and announces phase changes with
/// `EventLoop.execute`; all I/O happens on the loops.
struct BenchRunner {
    let config: BenchConfig

    /// Set by SIGINT/SIGTERM: the run skips to the close phase and reports what it has.
    static let interrupted = Atomic<Bool>(false)

    /// Runs the scenario. Throws only when the loops cannot start.
    func run() throws(EventLoopGroupError) -> BenchResult {
        Self.installSignalHandlers()
        let control = RunControl()
        let log: PublishLog? = config.mode == .fanout
            ? PublishLog(capacity: Int(config.publishRate * (config.warmupSeconds + config.durationSeconds + 1) * 1.2) + 64)
            : nil
        var workers: [BenchWorker] = []
        var first = 0
        for i in 0..<config.threads {
            let n = config.connections / config.threads + (i < config.connections % config.threads ? 1 : 0)
            workers.append(BenchWorker(index: i, role: .load, first: first, count: n, config: config, control: control, publishLog: log))
            first += n
        }
        if config.mode == .fanout {
            workers.append(BenchWorker(
                index: config.threads, role: .publisher, first: 0, count: 0, config: config, control: control, publishLog: log))
        }
        let shared = WorkerList(workers)
        let begin = MonotonicClock.now()
        let group = try EventLoopGroup(count: workers.count, engine: config.engine) { loop in
            shared.workers[loop.index].attach(loop)
        }
        func announce() {
            for (i, loop) in group.loops.enumerated() {
                let w = shared.workers[i]
                loop.execute { w.phaseDidChange() }
            }
        }

        // Connect phase: until every connection opened or failed.
        waitUntil { control.connectionsDone.load(ordering: .relaxed) >= config.connections }
        let connected = MonotonicClock.now()
        let nok = control.connectionsOK.load(ordering: .relaxed)
        if config.mode == .hold {
            Console.out("READY \(nok)\n")
        }
        if config.mode == .fanout {
            let limit = MonotonicClock.now() &+ config.timeoutNanos &+ 1_000_000_000
            waitUntil { control.publisherState.load(ordering: .relaxed) != 0 || MonotonicClock.now() > limit }
        }

        let windowStart: UInt64
        let windowEnd: UInt64
        if config.openLoop != nil {
            // The open-loop schedule is fixed up front: the window is exactly the schedule's measured
            // slots, and the phases follow the clock rather than the sleeps.
            let start = MonotonicClock.now() &+ Self.scheduleLeadNanos
            control.scheduleStart.store(start, ordering: .relaxed)
            control.enter(.warmup)
            announce()
            windowStart = start &+ MonotonicClock.nanos(seconds: config.warmupSeconds)
            windowEnd = windowStart &+ MonotonicClock.nanos(seconds: config.durationSeconds)
            sleep(until: windowStart)
            control.enter(.measure)
            sleep(until: windowEnd)
        } else {
            control.enter(.warmup)
            announce()
            sleep(seconds: config.warmupSeconds)
            windowStart = MonotonicClock.now()
            control.enter(.measure)
            sleep(seconds: config.durationSeconds)
            windowEnd = MonotonicClock.now()
        }
        control.enter(.drain)
        announce()
        if config.openLoop != nil {
            // Grace: until every loop reported and every measured message is answered, or --grace.
            let graceEnd = MonotonicClock.now() &+ MonotonicClock.nanos(seconds: config.graceSeconds)
            waitUntil {
                (control.openLoopReported.load(ordering: .relaxed) >= workers.count
                    && control.openLoopReplies.load(ordering: .relaxed) >= control.openLoopExpected.load(ordering: .relaxed))
                    || MonotonicClock.now() >= graceEnd
            }
        }

        var measuredPublishes = 0
        var totalPublishes = 0
        if let log {
            // Let the publisher's loop finish a publish in progress before counting.
            usleep(2_000)
            totalPublishes = log.count
            for i in 0..<totalPublishes where log.isMeasured(i) { measuredPublishes += 1 }
            let expected = UInt64(measuredPublishes) * UInt64(nok)
            let graceEnd = MonotonicClock.now() &+ MonotonicClock.nanos(seconds: config.graceSeconds)
            waitUntil {
                control.measuredDeliveries.load(ordering: .relaxed) >= expected || MonotonicClock.now() >= graceEnd
            }
        }

        control.enter(.close)
        announce()
        let closeLimit = MonotonicClock.now() &+ 3_000_000_000
        waitUntil(ignoringInterrupt: true) {
            control.openSockets.load(ordering: .relaxed) <= 0 || MonotonicClock.now() >= closeLimit
        }
        group.stop()
        group.join()

        var result = BenchResult(config: config)
        result.connectPhaseSeconds = Double(connected &- begin) / 1e9
        result.windowSeconds = Double(windowEnd &- windowStart) / 1e9
        result.connectionsOK = nok
        for w in workers {
            result.stats.merge(w.stats)
            result.latency.merge(w.latency)
            result.connectLatency.merge(w.connectLatency)
            result.sendLag.merge(w.sendLag)
        }
        if let log {
            result.totalPublishes = totalPublishes
            result.measuredPublishes = measuredPublishes
            result.expected = UInt64(measuredPublishes) * UInt64(nok)
            for i in 0..<min(totalPublishes, log.capacity) where log.isMeasured(i) {
                var got: UInt64 = 0
                var last: UInt64 = 0
                for w in workers {
                    got += UInt64(w.publishGot[i])
                    last = max(last, w.publishLastDelivery[i])
                }
                result.received += got
                if got > 0 { result.timeToLastDelivery.record(last) }
                if got >= UInt64(nok) { result.publishesComplete += 1 }
            }
        }
        result.interrupted = Self.interrupted.load(ordering: .relaxed)
        return result
    }

    /// How far ahead of the warm-up announcement the open-loop schedule starts, so every loop has
    /// its cursor before the first slot is due (else the first sends of a run would all be late).
    static let scheduleLeadNanos: UInt64 = 5_000_000

    /// Polls `condition` every millisecond until it holds or the run is interrupted.
    private func waitUntil(ignoringInterrupt: Bool = false, _ condition: () -> Bool) {
        while !condition() {
            if !ignoringInterrupt && Self.interrupted.load(ordering: .relaxed) { return }
            usleep(1_000)
        }
    }

    /// Sleeps `seconds`, returning early (within 10 ms) on SIGINT. Long sleeps wake only every
    /// 10 ms so the main thread does not steal the loops' cores during the window.
    private func sleep(seconds: Double) {
        let end = MonotonicClock.now() &+ MonotonicClock.nanos(seconds: seconds)
        while !Self.interrupted.load(ordering: .relaxed) {
            let now = MonotonicClock.now()
            if now >= end { return }
            usleep(UInt32(min(10_000, (end - now) / 1_000 + 1)))
        }
    }

    /// Sleeps until the CLOCK_MONOTONIC instant `end`, as `sleep(seconds:)`.
    private func sleep(until end: UInt64) {
        let now = MonotonicClock.now()
        if end > now { sleep(seconds: Double(end - now) / 1e9) }
    }

    private static func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { _ in BenchRunner.interrupted.store(true, ordering: .relaxed) }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

/// Hands the workers to the loops' set-up closure.
private final class WorkerList: Sendable {
    let workers: [BenchWorker]
    init(_ workers: [BenchWorker]) { self.workers = workers }
}
