public import GatewayIO
internal import GatewayBackend
internal import Synchronization
public import Logging
internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// The running gateway: resolves the I/O engine, binds one listener per loop (SO_REUSEPORT), starts
/// the loops and handles SIGTERM/SIGINT (graceful drain) until it exits.
public final class GatewayService: Sendable {
    private let runtime: RuntimeConfig
    private let logger: Logger
    private let engineOverride: IOEngineKind?
    private let loopsOverride: Int?

    /// Creates a server for a validated config.
    /// - Parameters:
    ///   - engine: overrides `io.engine` (from `--io-engine` or `GATEWAY_IO_ENGINE`).
    ///   - loops: overrides `io.loops`.
    public init(config: GatewayConfig, logger: Logger, engine: IOEngineKind? = nil, loops: Int? = nil) {
        self.runtime = RuntimeConfig(config)
        self.logger = logger
        self.engineOverride = engine
        self.loopsOverride = loops
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns. Throws if start-up fails (bind error,
    /// io_uring forced but unavailable).
    public func run() throws(IOError) {
        let config = runtime.config
        // Signals are handled by sigwait on this thread; block them before any loop thread starts so
        // every thread inherits the mask. SIGPIPE is ignored: sends use MSG_NOSIGNAL anyway.
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let requested = engineOverride ?? config.io.engine
        let resolution = try IOEngineProbe.resolve(requested)
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let loopCount = loopsOverride ?? (config.io.loops > 0 ? config.io.loops : cores)

        var sockets: [ListeningSocket] = []
        for _ in 0..<loopCount {
            sockets.append(try ListeningSocket(address: config.listen, reusePort: true))
        }
        let bound = sockets.first?.address ?? config.listen
        let adminSocket = try config.admin.map { a throws(IOError) in try ListeningSocket(address: a.listen, reusePort: false) }
        let adminBox = adminSocket.map { SocketList([$0]) }
        BackendClient.globalInit()

        let contexts = GatewayHub(loopCount: loopCount, parsers: Set(config.modules.map(\.parser)))
        let runtime = self.runtime
        let logger = self.logger
        let socketBox = SocketList(sockets)
        let group = try EventLoopGroup(count: loopCount, engine: resolution.engine) { loop in
            guard let ctx = LoopContext(loop: loop, runtime: runtime, hub: contexts, logger: logger) else {
                logger.critical("loop \(loop.index): cannot initialize libcurl")
                return
            }
            ctx.listenerID = loop.addListener(socketBox.take(loop.index), handler: ctx)
            contexts.register(ctx)
            if loop.index == 0, let adminBox, let token = config.admin?.token {
                let admin = AdminServer(context: ctx, token: token, engine: resolution.engine)
                ctx.admin = admin
                loop.addListener(adminBox.take(0), handler: admin)
            }
        }

        var line = "gateway \(GatewayVersion.current) listening on \(bound) with \(loopCount) loop(s), engine \(resolution.engine)"
        if let why = resolution.fallbackReason { line += " (io_uring unavailable: \(why))" }
        line += ", \(config.modules.count) module(s): \(config.modules.map(\.path).joined(separator: " "))"
        if let a = adminSocket { line += ", admin API on \(a.address)" }
        logger.notice("\(line)")

        // Wait for a signal.
        var sig: Int32 = 0
        while true {
            sigwait(&set, &sig)
            if sig == SIGTERM || sig == SIGINT { break }
            if sig == SIGHUP { logger.notice("SIGHUP: configuration reload is not supported yet; ignoring") }
        }
        logger.notice("\(sig == SIGTERM ? "SIGTERM" : "SIGINT"): draining (up to \(config.limits.drainTimeoutSeconds) s)")
        let remaining = Counter(loopCount)
        for loop in group.loops {
            loop.execute {
                guard let ctx = contexts.context(loop.index) else {
                    remaining.decrement()
                    return
                }
                ctx.drain { remaining.decrement() }
            }
        }
        // A second signal skips the rest of the drain.
        var ts = timespec(tv_sec: 0, tv_nsec: 20_000_000)
        var info = siginfo_t()
        while remaining.value > 0 {
            if sigtimedwait(&set, &info, &ts) > 0 {
                logger.warning("second signal: exiting without finishing the drain")
                break
            }
        }
        for loop in group.loops {
            loop.execute {
                if let ctx = contexts.context(loop.index) { ctx.backend.close() }
            }
        }
        group.stop()
        group.join()
        logger.notice("stopped")
    }
}

/// Hands each loop its own listening socket.
private final class SocketList: Sendable {
    private let sockets: Mutex<[ListeningSocket?]>
    init(_ s: [ListeningSocket]) { sockets = Mutex(s.map { Optional($0) }) }
    func take(_ i: Int) -> ListeningSocket {
        sockets.withLock { s in
            let x = s[i]!
            s[i] = nil
            return x
        }
    }
}

/// A thread-safe countdown.
private final class Counter: Sendable {
    private let v: Atomic<Int>
    init(_ n: Int) { v = Atomic(n) }
    func decrement() { v.subtract(1, ordering: .releasing) }
    var value: Int { v.load(ordering: .acquiring) }
}

/// The gateway's version.
public enum GatewayVersion {
    /// Semantic version of this build.
    public static let current = "0.1.0"
}
