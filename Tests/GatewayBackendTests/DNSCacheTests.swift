@testable import GatewayBackend
import GatewayIO
import Testing

/// The cache behind a reference, so `#expect` can call its mutating methods.
final class CacheUnderTest {
    var k: DNSCache
    init(_ k: DNSCache) { self.k = k }
    var markNanos: UInt64 { k.markNanos }
    var nextDeadline: UInt64? { k.nextDeadline }
    func lookup(_ name: String, port: UInt16, now: UInt64) -> DNSCache.Lookup { k.lookup(name, port: port, now: now) }
    func beginQuery(_ name: String, now: UInt64) -> Bool { k.beginQuery(name, now: now) }
    func record(_ name: String, hosts: [SocketAddress.Host], ttlSeconds: Int, now: UInt64) {
        k.record(name, hosts: hosts, ttlSeconds: ttlSeconds, now: now)
    }
    func recordFailure(_ name: String, error: String, now: UInt64) { k.recordFailure(name, error: error, now: now) }
    func markFailed(_ name: String, address: SocketAddress, now: UInt64) -> Bool { k.markFailed(name, address: address, now: now) }
    func due(now: UInt64, inUse: (String) -> Bool) -> [String] { k.due(now: now, inUse: inUse) }
    func lists(_ name: String, _ host: SocketAddress.Host) -> Bool { k.lists(name, host) }
    func hasAnswer(_ name: String) -> Bool { k.hasAnswer(name) }
    func connectAttempts(_ name: String) -> Int { k.connectAttempts(name) }
}

/// The sans-IO DNS cache on its own: the clock is a number the test sets.
@Suite("DNS cache")
struct DNSCacheTests {
    static let s: UInt64 = 1_000_000_000
    let a = SocketAddress.Host.v4(127, 0, 0, 2)
    let b = SocketAddress.Host.v4(127, 0, 0, 3)
    let c = SocketAddress.Host.v4(127, 0, 0, 4)
    let v6 = SocketAddress.Host.v6([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])

    func cache(min: Int = 1, max: Int = 300) -> CacheUnderTest {
        var settings = DNSSettings()
        settings.minTtlSeconds = min
        settings.maxTtlSeconds = max
        return CacheUnderTest(DNSCache(settings: settings))
    }

    func addr(_ h: SocketAddress.Host, _ port: UInt16 = 80) -> DNSCache.Lookup {
        .address(SocketAddress(host: h, port: port))
    }

    /// A cache that has answered `hosts` for "svc" with `ttl` at time 0.
    func answered(_ hosts: [SocketAddress.Host], ttl: Int = 30, min: Int = 1, max: Int = 300) -> CacheUnderTest {
        let k = cache(min: min, max: max)
        #expect(k.beginQuery("svc", now: 0))
        k.record("svc", hosts: hosts, ttlSeconds: ttl, now: 0)
        return k
    }

    @Test("an unknown name needs a query; while it is in flight lookups wait")
    func unknown() {
        let k = cache()
        #expect(k.lookup("svc", port: 80, now: 0) == .needsQuery)
        #expect(k.beginQuery("svc", now: 0))
        #expect(!k.beginQuery("svc", now: 0), "one query per name at a time")
        #expect(k.lookup("svc", port: 80, now: 1) == .pending)
        k.record("svc", hosts: [a], ttlSeconds: 30, now: 2)
        #expect(k.lookup("svc", port: 80, now: 3) == addr(a))
    }

    @Test("the TTL is clamped to [minTtlSeconds, maxTtlSeconds]", arguments: [
        (0, 1), (1, 1), (30, 30), (300, 300), (86_400, 300), (-5, 1),
    ])
    func ttlClamp(ttl: Int, kept: UInt64) {
        let k = answered([a], ttl: ttl)
        #expect(k.lookup("svc", port: 80, now: kept * Self.s - 1) == addr(a))
        #expect(k.lookup("svc", port: 80, now: kept * Self.s) == .needsQuery, "expired and not refreshed: queried again")
        #expect(k.lookup("svc", port: 80, now: kept * Self.s) == .needsQuery, "the stale answer is gone, not served")
    }

    @Test("the clamps come from the settings")
    func customClamp() {
        let k = answered([a], ttl: 1, min: 5, max: 10)
        #expect(k.lookup("svc", port: 80, now: 5 * Self.s - 1) == addr(a))
        #expect(k.lookup("svc", port: 80, now: 5 * Self.s) == .needsQuery)
        let long = answered([a], ttl: 3600, min: 5, max: 10)
        #expect(long.lookup("svc", port: 80, now: 10 * Self.s) == .needsQuery)
    }

    @Test("a refresh is due after three quarters of the TTL, only while the name is in use")
    func refreshDue() {
        let k = answered([a], ttl: 4)
        #expect(k.nextDeadline == 3 * Self.s)
        #expect(k.due(now: 3 * Self.s - 1) { _ in true } == [])
        #expect(k.due(now: 3 * Self.s) { _ in true } == ["svc"])

        let idle = answered([a], ttl: 4)
        #expect(idle.due(now: 3 * Self.s) { _ in false } == [])
        #expect(idle.nextDeadline == 4 * Self.s, "not in use: looked at again when it expires")
        #expect(idle.lookup("svc", port: 80, now: 3 * Self.s + 1) == addr(a), "still valid until then")
        #expect(idle.due(now: 4 * Self.s) { _ in false } == [])
        #expect(idle.nextDeadline == nil, "expired unused: forgotten")
        #expect(idle.lookup("svc", port: 80, now: 4 * Self.s) == .needsQuery)
    }

    @Test("while a refresh is in flight the answer is used, even past its TTL")
    func staleDuringRefresh() {
        let k = answered([a], ttl: 4)
        #expect(k.beginQuery("svc", now: 3 * Self.s))
        #expect(k.nextDeadline == nil, "nothing to do while the query is in flight")
        #expect(k.lookup("svc", port: 80, now: 5 * Self.s) == addr(a), "a call never waits for a refresh")
        k.record("svc", hosts: [b], ttlSeconds: 4, now: 5 * Self.s)
        #expect(k.lookup("svc", port: 80, now: 5 * Self.s) == addr(b))
        #expect(k.lists("svc", b) && !k.lists("svc", a))
    }

    @Test("a failed refresh keeps the answer until it expires, retrying with a doubling interval; then the failure shows")
    func failedRefresh() {
        let k = answered([a], ttl: 10)
        #expect(k.beginQuery("svc", now: 7 * Self.s))
        k.recordFailure("svc", error: "Could not contact DNS servers", now: 7 * Self.s)
        #expect(k.lookup("svc", port: 80, now: 7 * Self.s) == addr(a))
        #expect(k.hasAnswer("svc"))
        #expect(k.nextDeadline == 8 * Self.s, "retried after minTtlSeconds")
        #expect(k.beginQuery("svc", now: 8 * Self.s))
        k.recordFailure("svc", error: "Could not contact DNS servers", now: 8 * Self.s)
        #expect(k.nextDeadline == 10 * Self.s, "then after 2 s, but never past the expiry")
        #expect(k.beginQuery("svc", now: 10 * Self.s))
        #expect(k.lookup("svc", port: 80, now: 10 * Self.s) == addr(a), "the last try is in flight: still served")
        k.recordFailure("svc", error: "Could not contact DNS servers", now: 10 * Self.s)
        #expect(!k.hasAnswer("svc") && !k.lists("svc", a))
        #expect(k.lookup("svc", port: 80, now: 10 * Self.s) == .failed("Could not contact DNS servers"))
    }

    @Test("a negative answer is kept for one second, then the name is queried again")
    func negative() {
        let k = cache()
        #expect(k.beginQuery("nope", now: 0))
        k.recordFailure("nope", error: "Domain name not found", now: 0)
        #expect(k.lookup("nope", port: 80, now: 0) == .failed("Domain name not found"))
        #expect(k.lookup("nope", port: 80, now: Self.s - 1) == .failed("Domain name not found"))
        #expect(k.lookup("nope", port: 80, now: Self.s) == .needsQuery)
        #expect(k.due(now: Self.s) { _ in true } == [], "negative answers are not refreshed")
        #expect(k.nextDeadline == nil, "and forgotten once they run out")
        #expect(k.connectAttempts("nope") == 1)
    }

    @Test("an answer without addresses is a failure; duplicate addresses count once")
    func emptyAndDuplicates() {
        let k = cache()
        _ = k.beginQuery("svc", now: 0)
        k.record("svc", hosts: [], ttlSeconds: 30, now: 0)
        #expect(k.lookup("svc", port: 80, now: 1) == .failed("no address in the answer"))
        let d = answered([a, a, b, a])
        #expect(d.lookup("svc", port: 80, now: 1) == addr(a))
        #expect(d.lookup("svc", port: 80, now: 1) == addr(b))
        #expect(d.lookup("svc", port: 80, now: 1) == addr(a))
        #expect(d.connectAttempts("svc") == 3)
    }

    @Test("new connections rotate over every address, IPv4 and IPv6, each with the caller's port")
    func rotation() {
        let k = answered([a, b, v6])
        let got = (0..<6).map { _ in k.lookup("svc", port: 9000, now: 1) }
        #expect(got == [addr(a, 9000), addr(b, 9000), addr(v6, 9000), addr(a, 9000), addr(b, 9000), addr(v6, 9000)])
        // A new answer keeps the rotation's place (within the new list).
        k.record("svc", hosts: [c, a], ttlSeconds: 30, now: 2)
        #expect(k.lookup("svc", port: 9000, now: 3) == addr(c, 9000))
        #expect(k.lookup("svc", port: 9000, now: 3) == addr(a, 9000))
    }

    @Test("an address that refused a connection is skipped for a while, for that port only")
    func marking() {
        let k = answered([a, b, c])
        #expect(k.markFailed("svc", address: SocketAddress(host: b, port: 80), now: 2 * Self.s), "resolved again: the backend may have moved")
        _ = k.beginQuery("svc", now: 2 * Self.s)
        k.record("svc", hosts: [a, b, c], ttlSeconds: 30, now: 2 * Self.s)
        let t = 2 * Self.s + 1
        #expect((0..<4).map { _ in k.lookup("svc", port: 80, now: t) } == [addr(a), addr(c), addr(a), addr(c)])
        #expect(k.lookup("svc", port: 81, now: t) == addr(a, 81), "another port of the same host is not marked")
        #expect(k.lookup("svc", port: 81, now: t) == addr(b, 81))
        let later = 2 * Self.s + k.markNanos
        #expect((0..<3).map { _ in k.lookup("svc", port: 80, now: later) } == [addr(c), addr(a), addr(b)], "the mark ran out")
    }

    @Test("a mark on an address the new answer no longer lists is dropped")
    func marksFollowTheAnswer() {
        let k = answered([a, b])
        _ = k.markFailed("svc", address: SocketAddress(host: a, port: 80), now: 2 * Self.s)
        _ = k.beginQuery("svc", now: 2 * Self.s)
        k.record("svc", hosts: [b], ttlSeconds: 30, now: 2 * Self.s)
        _ = k.beginQuery("svc", now: 3 * Self.s)
        k.record("svc", hosts: [a, b], ttlSeconds: 30, now: 3 * Self.s)
        #expect((0..<2).map { _ in k.lookup("svc", port: 80, now: 3 * Self.s) }.contains(addr(a)))
    }

    @Test("re-resolution after a connect failure is limited to one per minTtlSeconds; meanwhile calls that find every address marked wait for it")
    func reResolveRateLimit() {
        let k = answered([a], ttl: 30)  // queried at 0
        #expect(!k.markFailed("svc", address: SocketAddress(host: a, port: 80), now: Self.s / 2), "a query began 0.5 s ago")
        #expect(k.lookup("svc", port: 80, now: Self.s / 2) == .pending, "the only address refused and a re-resolution is due")
        #expect(k.nextDeadline == Self.s)
        #expect(k.due(now: Self.s) { _ in false } == ["svc"], "due even if no pool reports use")
        #expect(k.beginQuery("svc", now: Self.s))
        #expect(k.lookup("svc", port: 80, now: Self.s) == .pending, "still marked: wait for the answer in flight")
        k.record("svc", hosts: [a], ttlSeconds: 30, now: Self.s)
        #expect(k.lookup("svc", port: 80, now: Self.s) == addr(a), "same answer, nothing pending: try it again")
        #expect(!k.markFailed("svc", address: SocketAddress(host: a, port: 80), now: Self.s + 1))
        #expect(k.markFailed("svc", address: SocketAddress(host: a, port: 80), now: 2 * Self.s), "a second later: at once")
    }

    @Test("connect attempts per call: one per address plus one after re-resolving, at most four")
    func attempts() {
        #expect(answered([a]).connectAttempts("svc") == 2)
        #expect(answered([a, b]).connectAttempts("svc") == 3)
        #expect(answered([a, b, c, v6, .v4(10, 0, 0, 1)]).connectAttempts("svc") == 4)
        #expect(cache().connectAttempts("svc") == 1)
    }
}
