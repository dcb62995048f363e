internal import ArgumentParser
internal import GatewayIO

/// Options every scenario takes, named as in wsload.
struct CommonOptions: ParsableArguments {
    @Option(name: [.customShort("u"), .customLong("url")], help: "WebSocket URL, ws://host:port/path?query or wss:// (TLS, no certificate check, a full handshake per connection; host: an IP address or localhost).")
    var url: String

    @Option(name: [.customShort("c"), .customLong("connections")], help: "Connections (fanout: subscribers; handshakes: concurrent workers).")
    var connections = 1

    @Option(name: [.customShort("t"), .customLong("threads")], help: "Event loops (threads), each with its share of the connections.")
    var threads = 1

    @Option(name: .customLong("io-engine"), help: "auto, io_uring or epoll (auto probes io_uring and falls back to epoll).")
    var ioEngine = "auto"

    @Option(name: [.customShort("w"), .customLong("warmup")], help: "Warm-up seconds (traffic flows, nothing is counted).")
    var warmup = 0.0

    @Option(name: [.customShort("d"), .customLong("duration")], help: "Measured seconds (hold: how long to hold).")
    var duration = 10.0

    @Option(name: [.customShort("r"), .customLong("connect-rate")], help: "Connects per second; 0 = as fast as possible, at most 256 handshakes in flight per thread.")
    var connectRate = 0.0

    @Option(name: .customLong("timeout"), help: "Connect + handshake timeout in seconds.")
    var timeout = 10.0

    @Option(name: .customLong("ping"), help: "Send a ping on every connection every SEC seconds (0 = never).")
    var ping = 0.0

    @Option(name: [.customShort("H"), .customLong("header")], help: "Extra handshake header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Flag(name: .customLong("json"), help: "Print one JSON line with every figure after the summary.")
    var json = false

    @Flag(name: .customLong("deflate"), help: "Offer permessage-deflate without context takeover either way and inflate compressed frames (what is sent stays uncompressed).")
    var deflate = false

    func validate() throws {
        guard connections >= 1 else { throw ValidationError("-c must be at least 1") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("-t must be between 1 and 256") }
        guard warmup >= 0, duration >= 0, connectRate >= 0, ping >= 0 else {
            throw ValidationError("-w, -d, -r and --ping must not be negative")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard IOEngineKind(parsing: ioEngine) != nil else {
            throw ValidationError("unknown --io-engine \(ioEngine) (use auto, io_uring or epoll)")
        }
        for h in headers where !h.contains(":") || h.contains("\r") || h.contains("\n") {
            throw ValidationError("-H needs 'Name: value' on one line: \(h)")
        }
        do { _ = try BenchURL(url, scheme: "ws") } catch { throw ValidationError(error.description) }
    }

    /// The run configuration for `mode`; resolves the I/O engine (exit 1 if io_uring was demanded
    /// and is unavailable).
    func makeConfig(mode: BenchMode) throws -> BenchConfig {
        let parsedURL: BenchURL
        do { parsedURL = try BenchURL(url, scheme: "ws") } catch { throw ValidationError(error.description) }
        let requested = IOEngineKind(parsing: ioEngine) ?? .auto
        let resolution: IOEngineProbe.Resolution
        do {
            resolution = try IOEngineProbe.resolve(requested)
        } catch {
            printError("gateway-bench: \(error)")
            throw ExitCode(1)
        }
        return BenchConfig(
            mode: mode, url: parsedURL, connections: connections,
            threads: min(threads, connections), engine: resolution.engine,
            engineFallbackReason: resolution.fallbackReason,
            warmupSeconds: warmup, durationSeconds: duration, connectRate: connectRate,
            timeoutNanos: MonotonicClock.nanos(seconds: timeout), pingIntervalNanos: MonotonicClock.nanos(seconds: ping),
            headers: deflate ? headers + [BenchConfig.deflateOffer] : headers, json: json, deflate: deflate)
    }
}
