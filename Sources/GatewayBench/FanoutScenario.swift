internal import ArgumentParser

/// `gateway-bench fanout`: `-c` idle subscribers on `-u` and one publisher that triggers `--rate`
/// broadcasts per second, over its own WebSocket (`--pub-url`, `--pub-msg`) or as keep-alive HTTP
/// POSTs (`--pub-http`, `--pub-body`, `--pub-header`). Each trigger carries a TS marker; the
/// subscribers look the markers up and record publish → receipt latency, and per publish the time
/// to its last delivery. Only publishes sent in the measured window count; `--grace` s are allowed
/// for late deliveries. The publisher runs on its own event loop.
struct FanoutScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout", abstract: "Broadcast delivery: deliveries/s, latency, time to last delivery.")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("rate"), help: "Publishes per second.")
    var rate = 10.0

    @Option(name: .customLong("pub-url"), help: "ws:// URL of the publisher's connection (default: -u).")
    var pubURL: String?

    @Option(name: .customLong("pub-msg"), help: "Publisher message template (must contain {{ts}}).")
    var pubMessage = "{{ts}}"

    @Option(name: .customLong("pub-http"), help: "Publish with HTTP POST (keep-alive) to http://host:port/path instead.")
    var pubHTTP: String?

    @Option(name: .customLong("pub-body"), help: "POST body template (must contain {{ts}}).")
    var pubBody = "{{ts}}"

    @Option(name: .customLong("pub-header"), help: "Extra POST header 'Name: value' (repeatable; Content-Type defaults to application/json).")
    var pubHeaders: [String] = []

    @Option(name: .customLong("grace"), help: "Seconds to wait for late deliveries after the window.")
    var grace = 2.0

    func validate() throws {
        guard rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate must be between 0 and 1000000") }
        guard grace >= 0 else { throw ValidationError("--grace must not be negative") }
        if pubHTTP != nil && pubURL != nil { throw ValidationError("give --pub-url or --pub-http, not both") }
        let template = Template(pubHTTP == nil ? pubMessage : pubBody)
        guard template.hasTimestamp else {
            throw ValidationError("\(pubHTTP == nil ? "--pub-msg" : "--pub-body") must contain {{ts}}")
        }
        for h in pubHeaders where !h.contains(":") || h.contains("\r") || h.contains("\n") {
            throw ValidationError("--pub-header needs 'Name: value' on one line: \(h)")
        }
    }

    func run() throws {
        var config = try common.makeConfig(mode: .fanout)
        config.publishRate = rate
        config.graceSeconds = grace
        do {
            if let pubHTTP {
                config.publisher = .http(url: try BenchURL(pubHTTP, scheme: "http"), body: Template(pubBody), headers: pubHeaders)
            } else {
                let url = try pubURL.map { u throws(BenchURL.ParseError) in try BenchURL(u, scheme: "ws") } ?? config.url
                config.publisher = .webSocket(url: url, message: Template(pubMessage))
            }
        } catch {
            throw ValidationError(error.description)
        }
        try BenchCommand.execute(config)
    }
}
