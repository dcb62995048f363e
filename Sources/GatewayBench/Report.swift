internal import GatewayIO

/// Prints a result: a human summary shaped like wsload's, then (with `--json`) one JSON line with
/// every figure, using wsload's keys where the figure is the same, so the two can be compared
/// by script.
struct Report {
    let result: BenchResult

    private var config: BenchConfig { result.config }
    private var stats: WorkerStats { result.stats }

    /// Writes the summary (and the JSON line) to stdout.
    func print() {
        var out = summary()
        if config.json { out += json() + "\n" }
        Console.out(out)
    }

    private static func us(_ ns: UInt64) -> String { DecimalFormat.us(ns) }

    private func percentiles(_ h: LatencyHistogram) -> String {
        "p50 \(Self.us(h.percentile(50))) p90 \(Self.us(h.percentile(90))) p99 \(Self.us(h.percentile(99))) p99.9 \(Self.us(h.percentile(99.9))) max \(Self.us(h.max))"
    }

    /// The human-readable lines.
    func summary() -> String {
        let r = result
        var s = "gateway-bench \(config.mode.rawValue) \(config.url)  c=\(config.connections) t=\(config.threads) d=\(DecimalFormat.fixed(config.durationSeconds, 1))s w=\(DecimalFormat.fixed(config.warmupSeconds, 1))s engine=\(config.engine)"
        if let why = config.engineFallbackReason { s += " (io_uring unavailable: \(why))" }
        s += "\n"
        let c = r.connectLatency
        s += "connections: ok \(r.connectionsOK) failed \(config.connections - r.connectionsOK)  (connect phase \(DecimalFormat.fixed(r.connectPhaseSeconds, 2))s; connect us p50 \(Self.us(c.percentile(50))) p99 \(Self.us(c.percentile(99))) max \(Self.us(c.max)))\n"
        switch config.mode {
        case .rtt where config.openLoop != nil:
            let ol = config.openLoop ?? OpenLoopConfig(rate: 0, maxInFlight: 0)
            s += "open loop: target \(DecimalFormat.fixed(ol.rate, 0)) msg/s, achieved \(DecimalFormat.fixed(r.perSecond(stats.openLoopSent), 0)) msg/s  (measured window: scheduled \(stats.openLoopExpected) sent \(stats.openLoopSent) replies \(stats.receivedMeasured) lost \(r.lost), of which unsent \(r.unsent); grace \(DecimalFormat.fixed(config.graceSeconds, 1))s)\n"
            s += "sends: held by --max-in-flight \(ol.maxInFlight): \(stats.openLoopHeld)  late >1ms: \(stats.openLoopLate)  send lag us p50 \(Self.us(r.sendLag.percentile(50))) p99 \(Self.us(r.sendLag.percentile(99))) p99.9 \(Self.us(r.sendLag.percentile(99.9))) max \(Self.us(r.sendLag.max))  (whole run: sent \(stats.sent) received \(stats.received), unsolicited \(stats.unsolicited))"
            if ol.paceNanos > 0 { s += "  (wake-ups ≥ \(DecimalFormat.us(ol.paceNanos)) us apart)" }
            s += "\n"
            s += "latency us (from the scheduled send time): \(percentiles(r.latency))\n"
        case .rtt:
            s += "messages: sent \(stats.sent) received \(stats.received)  measured \(stats.receivedMeasured) in \(DecimalFormat.fixed(r.windowSeconds, 2))s = \(DecimalFormat.fixed(r.perSecond(stats.receivedMeasured), 0)) msg/s  (pipeline \(config.pipeline), unsolicited \(stats.unsolicited))\n"
            s += "latency us: \(percentiles(r.latency))\n"
        case .fanout:
            let via = if case .http? = config.publisher { "http" } else { "ws" }
            s += "publishes: \(r.measuredPublishes) measured (\(r.totalPublishes) total, \(stats.publishErrors) publish errors) via \(via), target \(DecimalFormat.fixed(config.publishRate, 0))/s achieved \(DecimalFormat.fixed(r.perSecond(UInt64(r.measuredPublishes)), 1))/s\n"
            s += "deliveries: expected \(r.expected) received \(r.received) missing \(r.missing)  \(DecimalFormat.fixed(r.perSecond(r.received), 0)) deliveries/s  (late \(stats.late), no-TS frames \(stats.noTimestamp), unknown TS \(stats.unknownTimestamp))\n"
            s += "delivery latency us: \(percentiles(r.latency))\n"
            let t = r.timeToLastDelivery
            s += "time-to-last-delivery us: p50 \(Self.us(t.percentile(50))) p99 \(Self.us(t.percentile(99))) max \(Self.us(t.max))  (publishes fully delivered \(r.publishesComplete)/\(r.measuredPublishes))\n"
        case .hold:
            s += "hold: held \(r.connectionsOK) connections for \(DecimalFormat.fixed(r.windowSeconds, 1))s; pings sent \(stats.pingsSent) pongs received \(stats.pongsReceived)\n"
            s += "connect latency us: \(percentiles(c))\n"
        case .handshakes:
            s += "handshakes: \(stats.handshakesMeasured) in \(DecimalFormat.fixed(r.windowSeconds, 2))s = \(DecimalFormat.fixed(r.perSecond(stats.handshakesMeasured), 0)) handshakes/s  (\(stats.handshakes) total, \(stats.connectionsFailed) failed)\n"
            s += "handshake latency us: \(percentiles(r.latency))\n"
        }
        s += "close frames received: \(stats.closeReceived) (server-initiated) + \(stats.closeReplies) (replies)"
        if !stats.closeCodes.isEmpty {
            s += "  codes: " + stats.closeCodes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
        }
        if stats.closeTimeouts > 0 { s += "  (\(stats.closeTimeouts) closes timed out)" }
        if stats.closesUnanswered > 0 { s += "  (\(stats.closesUnanswered) closes answered by EOF only)" }
        s += "\nerrors: \(r.errors)  (connect \(stats.errConnect) handshake \(stats.errHandshake) timeout \(stats.errTimeout) protocol \(stats.errProtocol) eof \(stats.errEOF) io \(stats.errIO))\n"
        if stats.errHandshake > 0 && stats.lastHandshakeStatus != 0 {
            s += "last handshake HTTP status: \(stats.lastHandshakeStatus)\n"
        }
        if r.errors > 0, let first = stats.firstError { s += "first error: \(first)\n" }
        if r.interrupted { s += "interrupted: the run was cut short\n" }
        return s
    }

    /// The JSON line.
    func json() -> String {
        let r = result
        var j = JSONLine()
        j.add("tool", "gateway-bench")
        j.add("mode", config.mode.rawValue)
        j.add("url", config.url.description)
        j.add("io_engine", config.engine.description)
        j.add("connections", config.connections)
        j.add("threads", config.threads)
        j.add("duration_s", r.windowSeconds, digits: 3)
        j.add("warmup_s", config.warmupSeconds, digits: 3)
        j.add("conn_ok", r.connectionsOK)
        j.add("conn_failed", config.connections - r.connectionsOK)
        j.add("connect_phase_s", r.connectPhaseSeconds, digits: 3)
        j.add("connect_us", histogram: r.connectLatency)
        switch config.mode {
        case .rtt:
            j.add("pipeline", config.pipeline)
            j.add("sent", stats.sent)
            j.add("received", stats.received)
            j.add("measured", stats.receivedMeasured)
            j.add("msgs_per_s", r.perSecond(stats.receivedMeasured))
            j.add("unsolicited", stats.unsolicited)
            if let ol = config.openLoop {
                j.add("open_loop", true)
                j.add("rate", ol.rate)
                j.add("rate_achieved", r.perSecond(stats.openLoopSent))
                j.add("max_in_flight", ol.maxInFlight)
                j.add("grace_s", config.graceSeconds, digits: 3)
                j.add("pace_us", Double(ol.paceNanos) / 1000)
                j.add("scheduled", stats.openLoopExpected)
                j.add("sent_measured", stats.openLoopSent)
                j.add("replies", stats.receivedMeasured)
                j.add("lost", r.lost)
                j.add("unsent", r.unsent)
                j.add("held", stats.openLoopHeld)
                j.add("late_sends", stats.openLoopLate)
                j.add("send_lag_us", histogram: r.sendLag)
            }
        case .fanout:
            j.add("publisher", { if case .http? = config.publisher { "http" } else { "ws" } }())
            j.add("pub_rate", config.publishRate)
            j.add("pub_rate_achieved", r.perSecond(UInt64(r.measuredPublishes)))
            j.add("publishes", r.measuredPublishes)
            j.add("pub_errors", stats.publishErrors)
            j.add("expected", r.expected)
            j.add("received", r.received)
            j.add("missing", r.missing)
            j.add("deliveries_per_s", r.perSecond(r.received))
            j.add("deliveries_total", stats.deliveries)
            j.add("late", stats.late)
            j.add("no_ts_frames", stats.noTimestamp)
            j.add("unknown_ts", stats.unknownTimestamp)
            j.add("ttl_us", histogram: r.timeToLastDelivery, short: true)
            j.add("pubs_complete", r.publishesComplete)
        case .hold:
            j.add("pings_sent", stats.pingsSent)
            j.add("pongs_received", stats.pongsReceived)
        case .handshakes:
            j.add("handshakes", stats.handshakesMeasured)
            j.add("handshakes_total", stats.handshakes)
            j.add("handshakes_failed", stats.connectionsFailed)
            j.add("handshakes_per_s", r.perSecond(stats.handshakesMeasured))
        }
        if config.mode != .hold { j.add("latency_us", histogram: r.latency) }
        j.add("bytes_in", stats.bytesIn)
        j.add("deflate", config.deflate)
        j.add("close_frames", stats.closeReceived)
        j.add("close_replies", stats.closeReplies)
        j.add("close_timeouts", stats.closeTimeouts)
        j.add("closes_unanswered", stats.closesUnanswered)
        j.addRaw("close_codes", "{" + stats.closeCodes.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}")
        j.add("errors", r.errors)
        j.addRaw("err", "{\"connect\":\(stats.errConnect),\"handshake\":\(stats.errHandshake),\"timeout\":\(stats.errTimeout),\"protocol\":\(stats.errProtocol),\"eof\":\(stats.errEOF),\"io\":\(stats.errIO)}")
        j.add("interrupted", r.interrupted)
        return j.text
    }
}
