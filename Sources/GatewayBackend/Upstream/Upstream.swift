/// One upstream group on one loop: picks the endpoint of each try, keeps the per-loop state that
/// protects the endpoints (breakers, passive ejection, in-flight counts, the retry budget) and the
/// figures the admin API shows. Sans-IO itself: `BackendClient` asks it for endpoints, reports the
/// tries' outcomes and carries out the retries. Loop-confined.
///
/// Per loop, not per gateway: a loop's breakers and ejections see only that loop's calls, which is
/// enough to react within a few calls and needs no locking on the call path. Active health is per
/// gateway (`UpstreamGroup`).
public final class Upstream {
    /// An endpoint's per-loop state (a class: the call path updates it in place, without the
    /// array's copy-on-write machinery).
    final class Endpoint {
        let url: String
        var breaker: CircuitBreaker?
        var figures: UpstreamEndpointSnapshot

        init(url: String, breaker: CircuitBreaker?) {
            self.url = url
            self.breaker = breaker
            figures = UpstreamEndpointSnapshot(url: url, healthy: true)
        }
    }

    /// The URLs of one path on every endpoint.
    final class PathURLs {
        let path: String
        let urls: [String]

        init(path: String, urls: [String]) {
            self.path = path
            self.urls = urls
        }
    }

    /// What `choose` found.
    enum Choice {
        /// Try `endpoint`; `probe` and `epoch` go back to `finish` with its outcome.
        case endpoint(Int, probe: Bool, epoch: UInt32)
        /// No endpoint admits a call now; a caller may try again after this long.
        case none(retryAfterNanos: UInt64)
    }

    public let group: UpstreamGroup
    /// The group's name (copied out of the settings, which the call path does not touch).
    public let name: String
    let retry: RetrySettings?
    let endpoints: [Endpoint]
    var outliers: OutlierDetector?
    var balancer: UpstreamBalancer
    var budget: RetryBudget?
    let backoff: Backoff?
    /// Endpoint URLs per route path, by the target's `pathIndex` (checked against its path: a
    /// reload may number the paths differently); bounded.
    private var urls: [PathURLs?] = []
    private var rng: UInt64
    var retries: UInt64 = 0
    var fastFails: UInt64 = 0
    var retriesDenied: UInt64 = 0
    /// Receives every state change of an endpoint (set by the owning `BackendClient`).
    var onEvent: ((UpstreamEvent) -> Void)?

    /// A fresh state for `group`: breakers closed, nothing ejected.
    public init(group: UpstreamGroup) {
        self.group = group
        let s = group.settings
        name = s.name
        retry = s.retry
        endpoints = s.endpoints.map { Endpoint(url: $0, breaker: s.circuitBreaker.map { CircuitBreaker(settings: $0) }) }
        outliers = s.outlierDetection.map { OutlierDetector(settings: $0, endpoints: s.endpoints.count) }
        balancer = UpstreamBalancer(policy: s.balance)
        budget = s.retry.map { RetryBudget(percent: $0.budgetPercent) }
        backoff = s.retry.map { Backoff(baseMs: $0.backoffMs, maxMs: $0.maxBackoffMs) }
        rng = UInt64.random(in: 1...UInt64.max)
    }

    /// The URL of a try on endpoint `i` for `target`'s path.
    func url(endpoint i: Int, target: UpstreamTarget) -> String {
        let k = target.pathIndex
        if k >= 0, k < urls.count, let known = urls[k], known.path == target.path { return known.urls[i] }
        let made = PathURLs(path: target.path, urls: endpoints.map { Self.join($0.url, target.path) })
        if k >= 0 && k < 1024 {
            while urls.count <= k { urls.append(nil) }
            urls[k] = made
        }
        return made.urls[i]
    }

    /// `base` + `path` with exactly one slash between them.
    static func join(_ base: String, _ path: String) -> String {
        let slashEnd = base.utf8.last == UInt8(ascii: "/")
        let slashStart = path.utf8.first == UInt8(ascii: "/")
        if slashEnd && slashStart { return base + path.dropFirst() }
        if !slashEnd && !slashStart && !path.isEmpty { return base + "/" + path }
        return base + path
    }

    /// Picks the endpoint of a try, avoiding the endpoints in the `avoid` mask where another will do.
    ///
    /// In order of preference: healthy, not ejected, breaker admitting, not yet tried; the same but
    /// tried before; then, when health and ejection rule out every endpoint, any whose breaker
    /// admits (a health check failing everywhere, say a wrong path, must not take a working service
    /// down). Endpoints whose breaker refuses are never chosen: when that is all of them, the call
    /// fails at once.
    func choose(now: UInt64, avoid: UInt64) -> Choice {
        if outliers?.ejectedCount ?? 0 > 0 {
            outliers?.refresh(now: now) { e in
                if case .returned(let i) = e { emit(.returned(upstream: name, endpoint: endpoints[i].url)) }
            }
        }
        let count = endpoints.count
        var picked: Int?
        for pass in 0..<4 {
            if pass == 1 && avoid == 0 { continue }
            if pass == 3 && avoid == 0 { continue }
            let strict = pass < 2, fresh = pass == 0 || pass == 2
            picked = balancer.pick(count: count, allowed: { i in
                if fresh && avoid & (1 << UInt64(i)) != 0 { return false }
                if strict && (!group.isHealthy(i) || outliers?.isEjected(i) == true) { return false }
                return endpoints[i].breaker?.admits(now: now) ?? true
            }, inflight: { endpoints[$0].figures.inFlight })
            if picked != nil { break }
        }
        guard let i = picked else {
            var wait = UInt64.max
            for e in endpoints { if let b = e.breaker { wait = min(wait, b.retryAfterNanos(now: now)) } }
            return .none(retryAfterNanos: wait == .max ? 0 : wait)
        }
        let e = endpoints[i]
        var probe = false
        var epoch: UInt32 = 0
        // Optional chaining mutates the breaker in place (a copy would copy its window).
        if let (admission, transition) = e.breaker?.admit(now: now) {
            if let t = transition { emit(.breaker(upstream: name, endpoint: e.url, from: t.from, to: t.to, reason: t.reason)) }
            guard admission != .refused else {
                return .none(retryAfterNanos: e.breaker?.retryAfterNanos(now: now) ?? 0)
            }
            probe = admission == .probe
            epoch = e.breaker?.epoch ?? 0
        }
        e.figures.inFlight += 1
        return .endpoint(i, probe: probe, epoch: epoch)
    }

    /// A try on endpoint `i` ended: `failed` (connect failure, reset, timeout, 5xx) or not, or
    /// `cancelled` (no verdict on the endpoint).
    func finish(endpoint i: Int, failed: Bool, cancelled: Bool, probe: Bool, epoch: UInt32, latencyNanos: UInt64, now: UInt64) {
        let e = endpoints[i]
        e.figures.inFlight -= 1
        if cancelled {
            e.breaker?.release(probe: probe, epoch: epoch)
            return
        }
        e.figures.calls += 1
        if failed { e.figures.failures += 1 }
        e.figures.record(latencyNanos: latencyNanos)
        if case let t?? = e.breaker?.record(failed: failed, probe: probe, epoch: epoch, now: now) {
            emit(.breaker(upstream: name, endpoint: e.url, from: t.from, to: t.to, reason: t.reason))
        }
        if case .ejected(_, let ms, let n)?? = outliers?.record(i, failed: failed, now: now) {
            emit(.ejected(upstream: name, endpoint: e.url, forMs: ms, count: n))
        }
    }

    private func emit(_ event: UpstreamEvent) {
        onEvent?(event)
    }

    /// Uniform random bits (SplitMix64; backoff jitter only, so quality matters little).
    func random() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// This loop's view, for the admin API.
    public func snapshot(now: UInt64) -> UpstreamSnapshot {
        var out = UpstreamSnapshot(name: name, balance: group.settings.balance, endpoints: [])
        out.retries = retries
        out.fastFails = fastFails
        out.retriesDenied = retriesDenied
        for (i, e) in endpoints.enumerated() {
            var f = e.figures
            f.healthy = group.isHealthy(i)
            f.ejectedLoops = outliers?.isEjected(i) == true ? 1 : 0
            if let b = e.breaker {
                // An open breaker whose time is up counts as half-open: the next call probes.
                let state: CircuitBreaker.State = b.state == .open && b.admits(now: now) ? .halfOpen : b.state
                f.breakerLoops[CircuitBreaker.State.allCases.firstIndex(of: state) ?? 0] = 1
            }
            out.endpoints.append(f)
        }
        return out
    }
}
