internal import ArgumentParser

/// `gateway-bench handshakes`: `-c` concurrent workers, each repeating connect → upgrade → close
/// (1000, waiting for the server's close and EOF) for the whole run. Reports handshakes/s and
/// handshake latency (connect start → verified 101) over the measured window.
struct HandshakeScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handshakes", abstract: "Connection churn: handshakes per second and their latency.")

    @OptionGroup var common: CommonOptions

    func run() throws {
        try BenchCommand.execute(try common.makeConfig(mode: .handshakes))
    }
}
