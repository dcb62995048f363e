internal import GatewayIO

/// Active health checks of every upstream endpoint that has `healthCheck`, run by one loop for the
/// whole gateway: `GET <endpoint><path>` every `intervalMs`; a 2xx within `timeoutMs` passes,
/// anything else fails. The verdict (`HealthState`) goes into the group's shared flag, which every
/// loop's balancer reads, and every change is reported through `onEvent` (the log line).
///
/// One check per endpoint at a time: a check still running when the next is due (an endpoint that
/// accepts but never answers) simply delays it until its own timeout.
public final class UpstreamHealthChecker: BackendCallHandler {
    private struct Check {
        let group: UpstreamGroup
        let endpoint: Int
        let url: String
        let intervalNanos: UInt64
        let timeoutMs: Int
        var state: HealthState
        var due: UInt64 = 0
        var running = false
    }

    private unowned(unsafe) let client: BackendClient
    private var checks: [Check] = []
    private var timer: LoopTimer?
    private var stopped = true
    /// Receives every health change.
    public var onEvent: ((UpstreamEvent) -> Void)?

    /// Checks for `groups` (those without `healthCheck` are skipped), made through `client`. Each
    /// endpoint starts with the health its group's flag has now, so a reload keeps verdicts.
    public init(client: BackendClient, groups: [UpstreamGroup]) {
        self.client = client
        for g in groups {
            guard let hc = g.settings.healthCheck else { continue }
            for (i, base) in g.settings.endpoints.enumerated() {
                checks.append(Check(
                    group: g, endpoint: i, url: Upstream.join(base, hc.path), intervalNanos: UInt64(hc.intervalMs) * 1_000_000,
                    timeoutMs: hc.timeoutMs,
                    state: HealthState(unhealthyAfter: hc.unhealthyAfter, healthyAfter: hc.healthyAfter, healthy: g.isHealthy(i))))
            }
        }
    }

    /// Whether any endpoint is checked.
    public var isEmpty: Bool { checks.isEmpty }

    /// Starts checking: each endpoint's first check is spread over its first interval, so that many
    /// endpoints are not all checked in the same millisecond.
    public func start() {
        guard stopped, !checks.isEmpty else { return }
        stopped = false
        let now = client.loop.now
        for i in checks.indices {
            checks[i].due = now &+ checks[i].intervalNanos * UInt64(i) / UInt64(checks.count)
        }
        timer = client.loop.makeTimer { [unowned(unsafe) self] in self.runDue() }
        rearm()
    }

    /// Stops checking (drain, reload); checks in flight finish and are ignored.
    public func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func rearm() {
        guard !stopped else { return }
        var next = UInt64.max
        for c in checks where !c.running { next = min(next, c.due) }
        if next != .max { timer?.schedule(at: next) }
    }

    private func runDue() {
        guard !stopped else { return }
        let now = client.loop.now
        for i in checks.indices where !checks[i].running && checks[i].due <= now {
            checks[i].running = true
            checks[i].due = now &+ checks[i].intervalNanos
            let call = client.makeCall(purpose: .healthCheck(i), handler: self)
            call.spec.method = "GET"
            call.spec.hasBody = false
            call.spec.url = checks[i].url
            call.spec.timeoutMs = checks[i].timeoutMs
            call.spec.maxResponseBytes = 64 * 1024  // a health answer is small; more is a misconfiguration
            call.spec.addHeader("Accept", "")  // keep libcurl from adding its own
            client.start(call)
        }
        rearm()
    }

    public func backendCallDidComplete(_ call: BackendCall) {
        guard case .healthCheck(let i) = call.purpose, i < checks.count else { return }
        checks[i].running = false
        guard !stopped else { return }
        let status = call.response.status
        let passed = call.error == nil && (200..<300).contains(status)
        if checks[i].state.record(passed: passed) {
            let c = checks[i]
            let healthy = c.state.healthy
            c.group.setHealthy(c.endpoint, healthy)
            let why = healthy
                ? "\(c.state.healthyAfter) check(s) passed in a row"
                : "\(c.state.unhealthyAfter) check(s) failed in a row, last: \(call.error.map { "\($0)" } ?? "status \(status)")"
            onEvent?(.health(upstream: c.group.name, endpoint: c.group.settings.endpoints[c.endpoint], healthy: healthy, reason: why))
        }
        rearm()
    }
}
