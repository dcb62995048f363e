internal import ArgumentParser
#if canImport(Glibc)
internal import Glibc
#endif

/// `gateway-bench`: the gateway's WebSocket load generator. Its scenarios, options, TS markers and
/// report follow wsload (`shared/bench`), the neutral C tool it is cross-checked against.
///
/// Exit codes: 0 when every connection opened and there were no errors, 1 otherwise, 2 for usage
/// errors (ArgumentParser's own code for those is 64; we keep wsload's).
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-bench",
        abstract: "WebSocket load generator for the gateway (rtt, fanout, hold, handshakes).",
        discussion: """
            Timeline: open all connections (-r/s) → warm-up (-w) → measured window (-d) → \
            (fanout: --grace) → clean close (1000, wait ≤ 2 s for the server's close + EOF).
            {{ts}} expands to TS + 19 digits of CLOCK_MONOTONIC nanoseconds, as in wsload.
            """,
        subcommands: [RTTScenario.self, FanoutScenario.self, HoldScenario.self, HandshakeScenario.self]
    )

    /// Parses, runs, and maps errors to wsload's exit codes.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                Console.out(message + "\n")
                Glibc.exit(0)
            }
            printError(message)
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    /// Without a scenario: usage on stderr, exit 2 (as wsload without `-u`).
    func run() throws {
        printError(Self.helpMessage())
        throw ExitCode(2)
    }

    /// Runs a configured scenario, prints its report and exits with its code.
    static func execute(_ config: BenchConfig) throws {
        raiseDescriptorLimit()
        let result: BenchResult
        do {
            result = try BenchRunner(config: config).run()
        } catch {
            printError("gateway-bench: cannot start the event loops: \(error)")
            throw ExitCode(1)
        }
        Report(result: result).print()
        throw ExitCode(result.exitCode)
    }

    /// Raises the soft descriptor limit to the hard one: each connection is a descriptor.
    private static func raiseDescriptorLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}

/// Writes a line to stderr.
func printError(_ message: String) {
    Console.error(message)
}
