import ArgumentParser
import Gateway
import GatewayIO
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `gateway`: the command-line entry point (DESIGN §6).
@main
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "WebSocket and HTTP gateway in front of HTTP microservices.",
        version: GatewayVersion.current,
        subcommands: [Serve.self, CheckConfig.self, Routes.self],
        defaultSubcommand: Serve.self
    )
}

/// `gateway serve`: runs the gateway until SIGTERM/SIGINT.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @Option(name: .shortAndLong, help: "Path of the configuration file.")
    var config = "gateway.json"

    @Option(name: .customLong("io-engine"), help: "auto, io_uring or epoll. Overrides GATEWAY_IO_ENGINE and io.engine.")
    var ioEngine: String?

    @Option(help: "Number of event loops (threads). Overrides io.loops; default one per core.")
    var loops: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: GATEWAY_LOG_LEVEL or notice; info adds a line per handshake and per close).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (one object per line). Overrides GATEWAY_LOG_FORMAT; default text.")
    var logFormat: String?

    func run() throws {
        let logger = try makeLogger(logLevel, format: logFormat)
        let cfg: GatewayConfig
        do {
            cfg = try GatewayConfig.load(path: config)
        } catch {
            printError("gateway: invalid configuration \(config):\n\(error)")
            throw ExitCode(2)
        }
        var engine: IOEngineKind?
        if let e = ioEngine ?? getenv("GATEWAY_IO_ENGINE").map({ String(cString: $0) }), !e.isEmpty {
            guard let k = IOEngineKind(parsing: e) else {
                printError("gateway: unknown I/O engine \"\(e)\" (use auto, io_uring or epoll)")
                throw ExitCode(2)
            }
            engine = k
        }
        if let loops, loops < 1 || loops > 256 {
            printError("gateway: --loops must be between 1 and 256")
            throw ExitCode(2)
        }
        for w in cfg.warnings { logger.warning("config: \(w)") }
        let service = GatewayService(config: cfg, configPath: config, logger: logger, engine: engine, loops: loops)
        do {
            try service.run()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `gateway check-config`: validates a configuration file and exits.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file; exit 0 when it is valid.")

    @Option(name: .shortAndLong, help: "Path of the configuration file.")
    var config = "gateway.json"

    func run() throws {
        do {
            let cfg = try GatewayConfig.load(path: config)
            print("\(config): ok (listen \(cfg.listen), \(cfg.modules.count) module(s), \(cfg.http.count) HTTP route(s))")
            // Risky but valid settings: reported, never fatal.
            for w in cfg.warnings { printError("warning: \(w)") }
        } catch {
            printError("\(config): invalid\n\(error)")
            throw ExitCode(2)
        }
    }
}

/// `gateway routes`: each module's resolved command map, or what one command hits.
struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print each module's command map (exact, wildcards, catch-all, default) and what each maps to.")

    @Option(name: .shortAndLong, help: "Path of the configuration file.")
    var config = "gateway.json"

    @Option(name: .customLong("command"), help: "Show only where this command goes, in each module.")
    var command: String?

    func run() throws {
        let cfg: GatewayConfig
        do {
            cfg = try GatewayConfig.load(path: config)
        } catch {
            printError("\(config): invalid\n\(error)")
            throw ExitCode(2)
        }
        let table = RouteTable(cfg)
        guard let command else {
            print(table.render(), terminator: "")
            return
        }
        for (module, entry) in table.resolve(command, in: cfg) {
            guard let entry else {
                print("\(module): \(command) -> unknown_command (no route, no default)")
                continue
            }
            let via = entry.kind == "exact" ? "exact" : "\(entry.kind)\(entry.pattern.isEmpty ? "" : " \(entry.pattern)")"
            let notes = entry.notes.isEmpty ? "" : "  (\(entry.notes.joined(separator: ", ")))"
            print("\(module): \(command) -> \(entry.target)  [\(via)]\(notes)")
        }
    }
}

func printError(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The process's logger: level from `--log-level` / `GATEWAY_LOG_LEVEL` (default `notice`: the
/// per-handshake and per-close access lines are `info`, opt-in, since at thousands of connections a
/// second they would dominate the output), format from `--log-format` / `GATEWAY_LOG_FORMAT`.
func makeLogger(_ level: String?, format: String?) throws -> Logger {
    func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
    let levelText = level ?? env("GATEWAY_LOG_LEVEL") ?? "notice"
    guard let parsed = Logger.Level(rawValue: levelText.lowercased()) else {
        printError("gateway: unknown log level \"\(levelText)\" (use trace, debug, info, notice, warning, error or critical)")
        throw ExitCode(2)
    }
    let formatText = format ?? env("GATEWAY_LOG_FORMAT") ?? "text"
    guard let kind = LogFormat(rawValue: formatText.lowercased()) else {
        printError("gateway: unknown log format \"\(formatText)\" (use text or json)")
        throw ExitCode(2)
    }
    LoggingSystem.bootstrap { label in
        switch kind {
        case .text:
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = parsed
            return h
        case .json:
            return JSONLogHandler(label: label, level: parsed)
        }
    }
    return Logger(label: "gateway")
}
