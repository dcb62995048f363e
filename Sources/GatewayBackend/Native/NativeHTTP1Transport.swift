internal import GatewayBuffers
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

/// The gateway's own HTTP/1.1 client for plain-http backends, on the event loop: keep-alive
/// connection pools per origin, optional pipelining, precise per-call timeouts, host names resolved
/// on the loop (`DNSResolver`, consulted only when a connection is opened). A call costs a few
/// thousand instructions instead of libcurl's tens of thousands (measured with callgrind), which is
/// most of the CPU of a round trip through a backend. Calls that need TLS, streaming or a proxy keep
/// using libcurl (`start` returns false for them).
final class NativeHTTP1Transport: BackendTransport {
    unowned(unsafe) let loop: EventLoop
    unowned(unsafe) var sink: (any BackendTransportSink)?
    /// Pools by origin as written in the URL (`localhost:80` and `127.0.0.1:80` are separate pools,
    /// as in libcurl's connection cache).
    private var pools: [String: OriginPool] = [:]
    private var targets: [String: NativeTarget?] = [:]
    let maxConnectionsPerHost: Int
    let pipelineDepth: Int
    /// How host names are resolved (`io.dns`).
    let dns: DNSSettings
    /// The loop's resolver, made when the first URL with a host name is used.
    private(set) lazy var resolver = DNSResolver(loop: loop, settings: dns)
    private var resolverMade = false
    /// Calls moved to another address (or to a new answer) after a connect failure (metrics).
    var connectFailovers = 0
    /// Idle keep-alive connections are closed after this long; 60 s is below most servers' own idle
    /// timeouts' order of magnitude while keeping busy backends' connections warm.
    static let idleNanos: UInt64 = 60_000_000_000

    init(loop: EventLoop, maxConnectionsPerHost: Int, pipelineDepth: Int, dns: DNSSettings = DNSSettings()) {
        self.loop = loop
        self.maxConnectionsPerHost = maxConnectionsPerHost > 0 ? maxConnectionsPerHost : Int.max
        self.pipelineDepth = max(1, pipelineDepth)
        self.dns = dns
    }

    /// The parsed target for a URL, or nil when the call must go through libcurl.
    func target(for url: String) -> NativeTarget? {
        if let cached = targets[url] { return cached }
        let t = NativeTarget(url: url)
        if targets.count < 4096 { targets[url] = t }
        return t
    }

    /// Starts a call on the pool of its origin; false (nothing done) unless it is plain http in
    /// HTTP/1.1 (HTTP/2 calls go through libcurl).
    func start(_ call: BackendCall) -> Bool {
        guard call.spec.httpProtocol == .http1 else { return false }
        guard let target = target(for: call.spec.url) else { return false }
        let key = target.hostHeader
        let pool: OriginPool
        if let p = pools[key] {
            pool = p
        } else {
            pool = OriginPool(client: self, origin: target.origin)
            pools[key] = pool
            if case .name(let host, _) = target.origin {
                resolverMade = true
                resolver.subscribe(host, pool)
            }
        }
        pool.submit(call, target: target)
        return true
    }

    /// Reports a finished call to the client (which recycles it).
    func complete(_ call: BackendCall, error: BackendError?) {
        sink?.transport(self, didFinish: call, error: error)
    }

    /// DNS queries answered and failed so far (0 when no URL named a host).
    var dnsQueries: (answered: Int, failed: Int) {
        resolverMade ? (resolver.answered, resolver.failed) : (0, 0)
    }

    /// Fails every call and closes every connection (shutdown).
    func close() {
        for pool in pools.values { pool.close() }
        pools.removeAll()
        if resolverMade { resolver.close() }
    }
}

/// Keep-alive connections to one origin, and the calls waiting for one.
final class OriginPool {
    unowned(unsafe) let client: NativeHTTP1Transport
    /// Where connections go: one address, or every address of a host name in turn.
    let origin: NativeTarget.Origin
    var connections: [BackendConnection] = []
    /// Calls waiting for a connection slot, oldest first (`head` indexes the next one).
    var waiting: [(BackendCall, NativeTarget)] = []
    var head = 0
    /// Fails waiting calls whose timeout passed before a connection was free.
    private var waitTimer: LoopTimer?
    /// Why the last attempt to open a connection failed (e.g. out of file descriptors).
    private var connectError: BackendError?
    /// Why the host name did not resolve the last time a connection was to be opened.
    var resolveError: BackendError?

    init(client: NativeHTTP1Transport, origin: NativeTarget.Origin) {
        self.client = client
        self.origin = origin
    }

    func submit(_ request: BackendCall, target: NativeTarget) {
        if let c = pick() {
            c.send(request, target: target)
        } else if let e = connectError ?? resolveError, !connections.contains(where: { $0.canAccept }) {
            // Nothing to wait for: no connection can take the call and none can be opened.
            client.complete(request, error: e)
        } else {
            waiting.append((request, target))
            armWaitTimer()
        }
    }

    /// An open connection with room in its pipeline (fewest in flight), or a new one if allowed
    /// (with `fresh`, a new one first).
    private func pick(fresh: Bool = false) -> BackendConnection? {
        var best: BackendConnection?
        for c in connections where !fresh && c.canAccept && c.inflight.count < client.pipelineDepth {
            if c.inflight.isEmpty { return c }
            if best == nil || c.inflight.count < (best?.inflight.count ?? .max) { best = c }
        }
        if let best { return best }
        guard connections.count < client.maxConnectionsPerHost, let address = newConnectionAddress() else { return nil }
        let c = BackendConnection(pool: self, address: address)
        if let e = c.connect() {
            connectError = .unavailable("cannot open a connection: \(e)")
            return nil
        }
        connectError = nil
        connections.append(c)
        return c
    }

    func armWaitTimer() {
        guard head < waiting.count else {
            waitTimer?.cancel()
            return
        }
        if waitTimer == nil {
            waitTimer = client.loop.makeTimer { [unowned(unsafe) self] in self.expireWaiting() }
        }
        var earliest = UInt64.max
        for i in head..<waiting.count {
            let r = waiting[i].0
            earliest = min(earliest, r.startedAt &+ UInt64(r.spec.timeoutMs) * 1_000_000)
        }
        waitTimer?.schedule(at: earliest)
    }

    private func expireWaiting() {
        let now = client.loop.now
        var kept: [(BackendCall, NativeTarget)] = []
        var expired: [BackendCall] = []
        for i in head..<waiting.count {
            let r = waiting[i].0
            if now >= r.startedAt &+ UInt64(r.spec.timeoutMs) * 1_000_000 { expired.append(r) } else { kept.append(waiting[i]) }
        }
        waiting = kept
        head = 0
        for r in expired { client.complete(r, error: .timeout(milliseconds: r.spec.timeoutMs)) }
        armWaitTimer()
    }

    /// A connection has room again: give it waiting calls.
    func slotFreed() {
        guard head < waiting.count else { return }
        while head < waiting.count, let c = pick() {
            let (r, t) = waiting[head]
            head += 1
            c.send(r, target: t)
        }
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        armWaitTimer()
    }

    /// Puts a call back at the front (retry after a dead keep-alive connection), on a new connection
    /// where the limit allows: the other idle connections of the pool may be dead the same way (a
    /// backend that restarts closes them all at once), and a second dead one would fail the call.
    func retry(_ request: BackendCall, target: NativeTarget) {
        if let c = pick(fresh: true) ?? pick() {
            c.send(request, target: target)
        } else {
            if head > 0 {
                head -= 1
                waiting[head] = (request, target)
            } else {
                waiting.insert((request, target), at: 0)
            }
        }
    }

    func remove(_ c: BackendConnection) {
        connections.removeAll { $0 === c }
        slotFreed()
    }

    /// Fails waiting calls that cannot be served because connecting (or resolving) failed: unless
    /// a connection can still take them.
    func failWaiting(_ error: BackendError) {
        guard !connections.contains(where: { $0.canAccept }) else { return }
        waitTimer?.cancel()
        let pending = waiting[head...]
        waiting.removeAll()
        head = 0
        for (r, _) in pending { client.complete(r, error: error) }
    }

    func close() {
        waitTimer?.cancel()
        let pending = waiting[head...]
        waiting.removeAll()
        head = 0
        for (r, _) in pending { client.complete(r, error: .cancelled) }
        for c in connections { c.shutdown(error: .cancelled) }
        connections.removeAll()
    }
}

