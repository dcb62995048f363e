@testable import GatewayBackend
import Testing

@Suite("Upstream")
struct UpstreamTests {
    static let ms: UInt64 = 1_000_000

    func group(_ n: Int = 3, _ configure: (inout UpstreamSettings) -> Void = { _ in }) -> UpstreamGroup {
        var s = UpstreamSettings(name: "users", endpoints: (0..<n).map { "http://127.0.0.1:\(9001 + $0)" })
        configure(&s)
        return UpstreamGroup(settings: s)
    }

    /// The endpoint `choose` picks, or nil; the try is finished at once with `failed`.
    func pickAndFinish(_ u: Upstream, avoid: UInt64 = 0, failed: Bool = false, at now: UInt64 = 0) -> Int? {
        guard case .endpoint(let i, let probe, let epoch) = u.choose(now: now, avoid: avoid) else { return nil }
        u.finish(endpoint: i, failed: failed, cancelled: false, probe: probe, epoch: epoch, latencyNanos: 1000, now: now)
        return i
    }

    @Test func urlsJoinWithOneSlash() {
        #expect(Upstream.join("http://a:1", "/rpc") == "http://a:1/rpc")
        #expect(Upstream.join("http://a:1/", "/rpc") == "http://a:1/rpc")
        #expect(Upstream.join("http://a:1/v1", "rpc") == "http://a:1/v1/rpc")
        #expect(Upstream.join("http://a:1/v1/", "rpc") == "http://a:1/v1/rpc")
        let u = Upstream(group: group(2))
        let x = UpstreamTarget(name: "users", index: 0, path: "/x", pathIndex: 0)
        #expect(u.url(endpoint: 1, target: x) == "http://127.0.0.1:9002/x")
        #expect(u.url(endpoint: 0, target: x) == "http://127.0.0.1:9001/x")
        // Another path under the same number (a reload renumbered them): not the cached URLs.
        let y = UpstreamTarget(name: "users", index: 0, path: "/y", pathIndex: 0)
        #expect(u.url(endpoint: 0, target: y) == "http://127.0.0.1:9001/y")
        #expect(u.url(endpoint: 1, target: UpstreamTarget(name: "users", index: 0, path: "/z", pathIndex: 5)) == "http://127.0.0.1:9002/z")
    }

    @Test func roundRobinOverEveryEndpoint() {
        let u = Upstream(group: group(3))
        #expect((0..<6).map { _ in pickAndFinish(u) } == [0, 1, 2, 0, 1, 2])
        #expect(u.snapshot(now: 0).endpoints.map(\.calls) == [2, 2, 2])
    }

    @Test func inFlightCountsTriesUntilTheyFinish() {
        let u = Upstream(group: group(2) { $0.balance = .leastInflight })
        guard case .endpoint(let first, _, _) = u.choose(now: 0, avoid: 0) else { return #expect(Bool(false)) }
        // The first is busy: the next two go to the other one while it stays busy.
        #expect(pickAndFinish(u) == 1 - first)
        #expect(pickAndFinish(u) == 1 - first)
        #expect(u.snapshot(now: 0).endpoints[first].inFlight == 1)
    }

    @Test func aRetryAvoidsTriedEndpointsWhereItCan() {
        let u = Upstream(group: group(3))
        #expect(pickAndFinish(u, avoid: 0b001) == 1)
        #expect(pickAndFinish(u, avoid: 0b011) == 2)
        // Everything tried: any endpoint will do.
        #expect(pickAndFinish(u, avoid: 0b111) != nil)
    }

    @Test func unhealthyEndpointsLeaveTheRotationUnlessAllAre() {
        let g = group(3)
        let u = Upstream(group: g)
        g.setHealthy(1, false)
        #expect((0..<4).map { _ in pickAndFinish(u) } == [0, 2, 0, 2])
        g.setHealthy(0, false)
        g.setHealthy(2, false)
        // Every endpoint fails its checks: calls go on rather than fail for a check that may be wrong.
        #expect(pickAndFinish(u) != nil)
    }

    @Test func consecutiveFailuresEjectAnEndpoint() {
        let u = Upstream(group: group(3) { $0.outlierDetection?.consecutiveFailures = 2 })
        let events = EventLog(u)
        for _ in 0..<2 {
            guard case .endpoint(_, let p, let e) = u.choose(now: 0, avoid: 0b110) else { return #expect(Bool(false)) }
            u.finish(endpoint: 0, failed: true, cancelled: false, probe: p, epoch: e, latencyNanos: 1, now: 0)
        }
        #expect(events.lines.count == 1 && events.lines[0].contains("ejected for 5000 ms"))
        #expect(u.snapshot(now: 0).endpoints[0].ejectedLoops == 1)
        #expect((0..<4).map { _ in pickAndFinish(u) }.allSatisfy { $0 != 0 })
        // Back after the ejection time.
        let later = 5001 * Self.ms
        var back = false
        for _ in 0..<3 { if pickAndFinish(u, at: later) == 0 { back = true } }
        #expect(back)
    }

    @Test func openBreakersFailFastWithRetryAfter() {
        let u = Upstream(group: group(2) {
            var b = CircuitBreakerSettings()
            b.minRequests = 1
            b.openMs = 100
            $0.circuitBreaker = b
            $0.outlierDetection = nil
        })
        let transitions = EventLog(u)
        for _ in 0..<2 {
            guard case .endpoint(let i, let p, let e) = u.choose(now: 0, avoid: 0) else { return #expect(Bool(false)) }
            u.finish(endpoint: i, failed: true, cancelled: false, probe: p, epoch: e, latencyNanos: 1, now: 0)
        }
        #expect(transitions.lines.count == 2 && transitions.lines.allSatisfy { $0.contains("closed -> open") })
        guard case .none(let wait) = u.choose(now: 40 * Self.ms, avoid: 0) else { return #expect(Bool(false)) }
        #expect(wait == 60 * Self.ms)
        #expect(u.snapshot(now: 40 * Self.ms).endpoints[0].breaker == .open)
        // After openMs one probe goes through; its success closes that breaker.
        guard case .endpoint(let i, let probe, let epoch) = u.choose(now: 100 * Self.ms, avoid: 0) else {
            return #expect(Bool(false))
        }
        #expect(probe && transitions.lines.last?.contains("open -> half-open") == true)
        u.finish(endpoint: i, failed: false, cancelled: false, probe: probe, epoch: epoch, latencyNanos: 1, now: 101 * Self.ms)
        #expect(transitions.lines.last?.contains("half-open -> closed") == true)
        #expect(u.snapshot(now: 101 * Self.ms).endpoints[i].breaker == .closed)
    }

    @Test func cancelledTriesDoNotCount() {
        let u = Upstream(group: group(1))
        guard case .endpoint(let i, let p, let e) = u.choose(now: 0, avoid: 0) else { return #expect(Bool(false)) }
        u.finish(endpoint: i, failed: false, cancelled: true, probe: p, epoch: e, latencyNanos: 1, now: 0)
        let s = u.snapshot(now: 0).endpoints[0]
        #expect(s.calls == 0 && s.inFlight == 0)
    }

    @Test func snapshotsAddUpAndEstimateLatency() {
        var a = UpstreamEndpointSnapshot(url: "u", healthy: true)
        for _ in 0..<99 { a.record(latencyNanos: 3 * Self.ms) }
        a.record(latencyNanos: 400 * Self.ms)
        #expect(a.quantileMs(0.5) > 2 && a.quantileMs(0.5) <= 5)
        #expect(a.quantileMs(0.99) <= 5)
        #expect(a.quantileMs(1.0) > 200)
        var b = a
        b.add(a)
        #expect(b.latencyBuckets.reduce(0, +) == 200)
        #expect(UpstreamEndpointSnapshot(url: "u", healthy: true).quantileMs(0.5) == 0)
    }
}

/// Collects an upstream's event lines.
final class EventLog {
    var lines: [String] = []

    init(_ u: Upstream) {
        u.onEvent = { [unowned self] in self.lines.append("\($0)") }
    }
}
