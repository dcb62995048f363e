/// Everything a run measured, merged over all loops; `Report` turns it into text and JSON.
struct BenchResult {
    let config: BenchConfig
    var stats = WorkerStats()
    /// rtt: reply latency; fanout: delivery latency; handshakes: handshake latency (window only).
    let latency = LatencyHistogram()
    /// Connect start → verified 101, every connection.
    let connectLatency = LatencyHistogram()
    /// fanout: per measured publish, the latency of its last delivery.
    let timeToLastDelivery = LatencyHistogram()
    /// rtt open loop: due time → actual send, for measured sends that were not held back.
    let sendLag = LatencyHistogram()
    var connectPhaseSeconds = 0.0
    var windowSeconds = 0.0
    var connectionsOK = 0
    var totalPublishes = 0
    var measuredPublishes = 0
    var expected: UInt64 = 0
    var received: UInt64 = 0
    var publishesComplete: UInt64 = 0
    var interrupted = false

    init(config: BenchConfig) {
        self.config = config
    }

    var missing: UInt64 { expected > received ? expected - received : 0 }

    /// rtt open loop: measured messages never answered within the grace period (unsent ones included).
    var lost: UInt64 {
        stats.openLoopExpected > stats.receivedMeasured ? stats.openLoopExpected - stats.receivedMeasured : 0
    }

    /// rtt open loop: measured messages that never went out (held until the end).
    var unsent: UInt64 {
        stats.openLoopExpected > stats.openLoopSent ? stats.openLoopExpected - stats.openLoopSent : 0
    }

    /// Errors as wsload counts them, plus (fanout) publish errors and missing deliveries.
    var errors: UInt64 {
        var e = stats.errors
        if config.mode == .fanout { e += stats.publishErrors + missing }
        return e
    }

    /// 0 when every connection opened and nothing went wrong, else 1 (an interrupted run that was
    /// clean so far still exits 0, as wsload).
    var exitCode: Int32 {
        errors == 0 && connectionsOK == config.connections ? 0 : 1
    }

    /// Per-second rate over the measured window.
    func perSecond(_ n: UInt64) -> Double {
        windowSeconds > 0 ? Double(n) / windowSeconds : 0
    }
}
