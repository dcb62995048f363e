internal import ArgumentParser

/// `gateway-bench hold`: opens `-c` connections at `-r`/s, prints `READY <n>` once all are up (or
/// failed), holds them `-d` s (pinging every `--ping` s if asked), then closes them cleanly.
/// Reports connect latency (TCP connect start → verified 101) and failures.
struct HoldScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Hold many idle connections (memory and connect-rate tests).")

    @OptionGroup var common: CommonOptions

    func run() throws {
        try BenchCommand.execute(try common.makeConfig(mode: .hold))
    }
}
