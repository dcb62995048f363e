internal import ArgumentParser

/// `gateway-bench rtt`: each connection sends a text message and waits for a data message back
/// (any data message answers the connection's oldest outstanding one, as in wsload), keeping `-p`
/// messages in flight. Reports messages/s and reply latency over the measured window.
struct RTTScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtt", abstract: "Request/reply throughput and latency (echo-style endpoints).")

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("p"), .customLong("pipeline")], help: "Messages in flight per connection.")
    var pipeline = 1

    @Option(
        name: [.customShort("m"), .customLong("message")],
        help: "Message template; placeholders {{seq}} {{conn}} {{pad:N}} {{ts}}.")
    var message = #"{"c":{{conn}},"s":{{seq}}}"#

    func validate() throws {
        guard pipeline >= 1, pipeline <= 65_536 else { throw ValidationError("-p must be between 1 and 65536") }
    }

    func run() throws {
        var config = try common.makeConfig(mode: .rtt)
        config.pipeline = pipeline
        config.message = Template(message)
        try BenchCommand.execute(config)
    }
}
