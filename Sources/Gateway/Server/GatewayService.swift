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
    private let configPath: String?
    private let logger: Logger
    private let engineOverride: IOEngineKind?
    private let loopsOverride: Int?

    /// Creates a server for a validated config.
    /// - Parameters:
    ///   - engine: overrides `io.engine` (from `--io-engine` or `GATEWAY_IO_ENGINE`).
    ///   - loops: overrides `io.loops`.
    ///   - configPath: the file to re-read on SIGHUP (nil disables reload).
    public init(config: GatewayConfig, configPath: String? = nil, logger: Logger, engine: IOEngineKind? = nil, loops: Int? = nil) {
        self.runtime = RuntimeConfig(config)
        self.configPath = configPath
        self.logger = logger
        self.engineOverride = engine
        self.loopsOverride = loops
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns. Throws if start-up fails (bind error,
    /// io_uring forced but unavailable, a loop that cannot start).
    public func run() throws(GatewayStartupError) {
        let config = runtime.config
        // Signals arrive through a pipe read on this thread (see SignalPipe).
        SignalPipe.install()

        let requested = engineOverride ?? config.io.engine
        let resolution: IOEngineProbe.Resolution
        do throws(IOError) { resolution = try IOEngineProbe.resolve(requested) } catch { throw .io(error) }
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let loopCount = loopsOverride ?? (config.io.loops > 0 ? config.io.loops : cores)

        var sockets: [ListeningSocket] = []
        let adminSocket: ListeningSocket?
        do throws(IOError) {
            for _ in 0..<loopCount {
                sockets.append(try ListeningSocket(address: config.listen, reusePort: true))
            }
            adminSocket = try config.admin.map { a throws(IOError) in try ListeningSocket(address: a.listen, reusePort: false) }
        } catch {
            throw .io(error)
        }
        let tls = try Self.tlsContext(config.tls, "tls")
        let adminTLS = try Self.tlsContext(config.admin?.tls, "admin.tls")
        let bound = sockets.first?.address ?? config.listen
        let adminBox = adminSocket.map { SocketList([$0]) }
        BackendClient.globalInit(dns: config.io.dns)

        let contexts = GatewayHub(loopCount: loopCount)
        // The node id is fixed for the process: connection ids and channels carry it.
        let cluster = config.cluster.map { settings in
            let node = settings.resolvedNodeID()
            NodeNames.setSelf(node)  // before any connection id is written or parsed
            let link = ClusterNode(settings: settings, node: node, urls: settings.redisURLs, hub: contexts, logger: self.logger)
            link.address = "\(bound)"
            link.engine = "\(resolution.engine)"
            contexts.attach(link)
            return link
        }
        let clusterBox = cluster.map { SendableBox($0) }
        let runtime = self.runtime
        let logger = self.logger
        let socketBox = SocketList(sockets)
        // A loop whose state cannot be created (libcurl, a listener the engine refuses) fails the
        // whole start: the gateway exits 1 with the reason instead of running short of a listener
        // while it logs "listening" (DESIGN: every start-up error refuses to start).
        let group: EventLoopGroup
        do throws(EventLoopGroupError) {
            group = try EventLoopGroup(count: loopCount, engine: resolution.engine) { loop throws(LoopSetUpError) in
                let ctx: LoopContext
                do throws(BackendError) {
                    ctx = try LoopContext(loop: loop, runtime: runtime, hub: contexts, logger: logger)
                } catch {
                    throw .backend(error)
                }
                do throws(IOError) {
                    ctx.listenerID = try loop.addListener(socketBox.take(loop.index), handler: ctx, tls: tls)
                    contexts.register(ctx)
                    if loop.index == 0, let adminBox, let token = config.admin?.token {
                        let admin = AdminServer(context: ctx, token: token, engine: resolution.engine)
                        ctx.admin = admin
                        try loop.addListener(adminBox.take(0), handler: admin, tls: adminTLS)
                    }
                    // Loop 0 owns the Redis connections; they open once the loop runs.
                    if loop.index == 0, let clusterBox { loop.execute { clusterBox.value.start(on: loop) } }
                } catch {
                    throw .listener(error)
                }
            }
        } catch {
            throw .loops(error)
        }

        var line = "gateway \(GatewayVersion.current) listening on \(tls == nil ? "" : "tls://")\(bound) with \(loopCount) loop(s), engine \(resolution.engine)"
        if let why = resolution.fallbackReason { line += " (io_uring unavailable: \(why))" }
        line += ", \(config.modules.count) module(s): \(config.modules.map(\.path).joined(separator: " "))"
        if let a = adminSocket { line += ", admin API on \(adminTLS == nil ? "" : "tls://")\(a.address)" }
        if let cluster {
            line += ", cluster node \(cluster.node) (prefix \(cluster.settings.prefix)) on \(cluster.settings.redisDescriptions.joined(separator: ", "))"
        }
        logger.notice("\(line)")

        // Wait for a signal.
        var sig: Int32 = 0
        var current = runtime
        while true {
            guard let s = SignalPipe.next() else { continue }
            sig = s
            if sig == SIGTERM || sig == SIGINT { break }
            if sig == SIGHUP { current = reload(current, hub: contexts, tls: tls, adminTLS: adminTLS) }
        }
        logger.notice("\(sig == SIGTERM ? "SIGTERM" : "SIGINT"): draining (up to \(config.limits.drainTimeoutSeconds) s)")
        // Leave the cluster first (DESIGN §8): the others forget this node at once; waited for below.
        let leaving = Counter(clusterBox == nil ? 0 : 1)
        if let clusterBox, let loop0 = group.loops.first {
            loop0.execute { clusterBox.value.leave { leaving.decrement() } }
        }
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
        while remaining.value > 0 {
            if let s = SignalPipe.next(timeoutMs: 20), s == SIGTERM || s == SIGINT {
                logger.warning("second signal: exiting without finishing the drain")
                break
            }
        }
        // Bounded by ClusterHeartbeat.leaveTimeoutNanos; a signal skips it like the drain.
        while leaving.value > 0, SignalPipe.next(timeoutMs: 20) == nil {}
        for loop in group.loops {
            loop.execute {
                if let ctx = contexts.context(loop.index) { ctx.backend.close() }
                if loop.index == 0 { clusterBox?.value.stop() }
            }
        }
        group.stop()
        group.join()
        contexts.clear()
        logger.notice("stopped")
    }
}

extension GatewayService {
    /// SIGHUP: re-reads the config file. An invalid file is rejected with its errors logged and the
    /// running config stays in force; a valid one replaces routes, modules, limits and hooks on every
    /// loop at once, without touching open connections. `listen`, `io` and `admin.listen` need a
    /// restart: changes to them are logged and ignored.
    fileprivate func reload(
        _ current: RuntimeConfig, hub: GatewayHub, tls: TLSServerContext?, adminTLS: TLSServerContext?
    ) -> RuntimeConfig {
        guard let path = configPath else {
            logger.warning("SIGHUP: no configuration file to reload")
            return current
        }
        var next: GatewayConfig
        do {
            next = try GatewayConfig.load(path: path)
        } catch {
            logger.error("SIGHUP: \(path) is invalid; keeping the running configuration:\n\(error)")
            return current
        }
        let old = current.config
        if next.listen != old.listen { logger.warning("SIGHUP: listen change (\(old.listen) -> \(next.listen)) needs a restart; ignored") }
        if next.io.engine != old.io.engine || next.io.loops != old.io.loops { logger.warning("SIGHUP: io changes need a restart; ignored") }
        if next.admin?.listen != old.admin?.listen { logger.warning("SIGHUP: admin.listen changes need a restart; ignored") }
        if next.cluster != old.cluster { logger.warning("SIGHUP: cluster changes need a restart; ignored") }
        next.listen = old.listen
        next.io = old.io
        next.cluster = old.cluster
        next.tls = reloadTLS(tls, old: old.tls, next: next.tls, "tls")
        if let a = next.admin { next.admin?.tls = reloadTLS(adminTLS, old: old.admin?.tls, next: a.tls, "admin.tls") }
        switch (old.admin, next.admin) {
        case (nil, .some):
            logger.warning("SIGHUP: enabling the admin API needs a restart; ignored")
            next.admin = nil
        case (.some(let a), nil):
            logger.warning("SIGHUP: disabling the admin API needs a restart; it stays on")
            next.admin = a
        case (.some(let a), .some(let n)):
            next.admin = GatewayConfig.AdminSettings(listen: a.listen, token: n.token, tls: n.tls)  // the token may change
        case (nil, nil):
            break
        }
        let runtime = RuntimeConfig(next, generation: current.generation + 1, previous: current)
        for i in 0..<hub.loopCount {
            hub.onLoop(i) { ctx in ctx.apply(runtime) }
        }
        logger.notice("SIGHUP: reloaded \(path): \(next.modules.count) module(s), \(next.http.count) HTTP route(s)")
        return runtime
    }

    /// SIGHUP for one TLS listener: re-reads its certificate and key into the running context, so new
    /// connections get them and open ones keep theirs. A bad file is logged and the certificate in use
    /// stays; turning TLS on or off needs a restart (the listener's mode is fixed when it starts).
    /// Returns the settings now in force.
    private func reloadTLS(
        _ context: TLSServerContext?, old: GatewayConfig.TLSSettings?, next: GatewayConfig.TLSSettings?, _ section: String
    ) -> GatewayConfig.TLSSettings? {
        guard let context, let old else {
            if next != nil { logger.warning("SIGHUP: enabling \(section) needs a restart; ignored") }
            return nil
        }
        guard let next else {
            logger.warning("SIGHUP: disabling \(section) needs a restart; it stays on")
            return old
        }
        do {
            try context.reload(certificatePath: next.certificate, keyPath: next.key, minVersion: next.minVersion)
            logger.notice("SIGHUP: \(section): loaded \(next.certificate) for new connections")
            return next
        } catch {
            logger.error("SIGHUP: \(section): \(error); keeping the certificate in use")
            return old
        }
    }

    /// The TLS context of one listener, or nil when `settings` is nil.
    fileprivate static func tlsContext(_ settings: GatewayConfig.TLSSettings?, _ section: String) throws(GatewayStartupError) -> TLSServerContext? {
        guard let settings else { return nil }
        do throws(TLSError) {
            return try TLSServerContext(certificatePath: settings.certificate, keyPath: settings.key, minVersion: settings.minVersion)
        } catch {
            throw .tls(section: section, error)
        }
    }
}

/// Hands each loop its own listening socket.
private final class SocketList: Sendable {
    private let sockets: Locked<[ListeningSocket?]>
    init(_ s: [ListeningSocket]) { sockets = Locked(s.map { Optional($0) }) }
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
