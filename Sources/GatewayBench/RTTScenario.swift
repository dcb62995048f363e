internal import ArgumentParser

/// `gateway-bench rtt`: each connection sends a text message and waits for a data message back
/// (any data message answers the connection's oldest outstanding one, as in wsload), keeping `-p`
/// messages in flight. Reports messages/s and reply latency over the measured window.
///
/// With `--rate` it runs open loop instead: every connection sends on a fixed schedule whatever
/// the replies do, and latency runs from each message's scheduled send time (`OpenLoopSchedule`,
/// `BenchWorker+OpenLoop`), so a stall shows in the tail instead of slowing the load down.
struct RTTScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtt", abstract: "Request/reply throughput and latency (echo-style endpoints).",
        discussion: """
            Closed loop (default): each connection keeps -p messages in flight. Open loop (--rate R): \
            R messages/s over all connections on a fixed schedule, each connection every c/R s, the \
            connections staggered by 1/R s; latency is measured from each message's scheduled time; \
            a due message beyond --max-in-flight waits for a reply (counted as held; its latency \
            still runs from its scheduled time); late sends are sends that were free to go but left \
            more than 1 ms after their scheduled time (the client was behind); replies still missing \
            --grace s after the window are lost.
            """)

    /// Default `--max-in-flight`: about a second of backlog per connection at 1,000 msg/s each,
    /// enough that a stall of a healthy server is measured (as latency) rather than held off.
    static let defaultMaxInFlight = 1024

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("p"), .customLong("pipeline")], help: "Messages in flight per connection.")
    var pipeline = 1

    @Option(
        name: [.customShort("m"), .customLong("message")],
        help: "Message template; placeholders {{seq}} {{conn}} {{pad:N}} {{ts}}.")
    var message = #"{"c":{{conn}},"s":{{seq}}}"#

    @Option(name: .customLong("rate"), help: "Open loop: messages per second over all connections, on a fixed schedule (0 = closed loop, -p in flight).")
    var rate = 0.0

    @Option(name: .customLong("max-in-flight"), help: "Open loop: messages outstanding per connection; a due message beyond it waits for a reply and is counted as held.")
    var maxInFlight = RTTScenario.defaultMaxInFlight

    @Option(name: .customLong("grace"), help: "Open loop: seconds to wait after the window for outstanding replies; those still missing are lost.")
    var grace = 2.0

    /// 0 by default: every send is woken for at its due time. A few tens of µs trade that much send lag
    /// (which counts in the latency) for fewer wake-ups when the client's CPU is the limit.
    @Option(name: .customLong("pace-us"), help: "Open loop: shortest time between two pacing wake-ups, in µs (0 = wake for every due time); sends due in between go together at the next one and their lag counts in the latency.")
    var paceMicros = 0.0

    func validate() throws {
        guard pipeline >= 1, pipeline <= 65_536 else { throw ValidationError("-p must be between 1 and 65536") }
        guard rate >= 0, rate.isFinite, rate <= 100_000_000 else { throw ValidationError("--rate must be between 0 and 100000000") }
        guard maxInFlight >= 1, maxInFlight <= 1 << 20 else { throw ValidationError("--max-in-flight must be between 1 and 1048576") }
        guard grace >= 0, grace.isFinite else { throw ValidationError("--grace must not be negative") }
        guard paceMicros >= 0, paceMicros <= 1_000_000 else { throw ValidationError("--pace-us must be between 0 and 1000000") }
        if rate > 0 && pipeline != 1 { throw ValidationError("-p is the closed loop's depth; with --rate use --max-in-flight") }
    }

    /// The open-loop settings, or nil for the closed loop (`--rate 0`).
    var openLoop: OpenLoopConfig? {
        rate > 0 ? OpenLoopConfig(rate: rate, maxInFlight: maxInFlight, paceNanos: UInt64(paceMicros * 1000)) : nil
    }

    func run() throws {
        var config = try common.makeConfig(mode: .rtt)
        config.pipeline = pipeline
        config.openLoop = openLoop
        config.graceSeconds = grace
        config.message = Template(message)
        try BenchCommand.execute(config)
    }
}
