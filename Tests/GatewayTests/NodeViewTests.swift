@testable import Gateway
import Testing

/// The node-timeout rules: who joined, who left, who expired, who is late, and when to read again.
@Suite("NodeView")
struct NodeViewTests {
    static func record(_ id: String) -> [UInt8] {
        NodeRecord(id: id, address: "127.0.0.1:1", connections: 3, startedMs: 1, heartbeatMs: 2).encoded()
    }

    /// timeout 10 s, beats every 3.333 s.
    var view = NodeView(timeoutMs: 10_000, periodMs: 3_333)

    @Test("nodes join, leave the set, and expire")
    mutating func lifecycle() {
        var c = view.apply(.init(ids: ["a", "b"], records: [Self.record("a"), Self.record("b")], ttls: [9_900, 8_000]))
        #expect(c == .init(joined: ["a", "b"]))
        #expect(view.peers["a"]?.ageMs == 100 && view.peers["b"]?.ageMs == 2_000, "age from the TTL, on Redis' clock")
        #expect(view.peers["a"]?.record.connections == 3)
        // b's key is gone while it is still in the set: expired (the heartbeat SREMs it; the winner declares it lost).
        c = view.apply(.init(ids: ["a", "b"], records: [Self.record("a"), nil], ttls: [9_000, -2]))
        #expect(c == .init(expired: ["b"]))
        #expect(Set(view.peers.keys) == ["a"])
        // a left the set (SIGTERM, or another node won its SREM): departed, not expired.
        c = view.apply(.init(ids: [], records: [], ttls: []))
        #expect(c == .init(departed: ["a"]))
        #expect(view.peers.isEmpty)
    }

    @Test("a key that expires before the next beat gets a read just after its expiry")
    mutating func lateNodeIsReadAgainOnTime() {
        var c = view.apply(.init(ids: ["a"], records: [Self.record("a")], ttls: [9_000]))
        #expect(c.recheckAfterMs == nil, "expires after the next beat: read then")
        c = view.apply(.init(ids: ["a", "b"], records: [Self.record("a"), Self.record("b")], ttls: [9_000, 1_200]))
        #expect(c.recheckAfterMs == 1_220)
        c = view.apply(.init(ids: ["b"], records: [Self.record("b")], ttls: [-2]))
        #expect(c.recheckAfterMs == 20, "expired between MGET and PTTL: look again at once")
        c = view.apply(.init(ids: ["x"], records: [Self.record("x")], ttls: [-1]))
        #expect(c.recheckAfterMs == nil && view.peers["x"]?.ageMs == 0, "no TTL: never expires, never late")
    }

    @Test("late after one and a half beats without a record")
    mutating func lateness() throws {
        _ = view.apply(.init(ids: ["ok", "late"], records: [Self.record("ok"), Self.record("late")], ttls: [5_100, 4_900]))
        #expect(!view.isLate(try #require(view.peers["ok"])), "4.9 s old: within 1.5 beats (5 s)")
        #expect(view.isLate(try #require(view.peers["late"])), "5.1 s old")
    }

    @Test("a record of another release is ignored, not taken for a lost node")
    mutating func undecodable() {
        let c = view.apply(.init(ids: ["old"], records: [Array("not json".utf8)], ttls: [9_000]))
        #expect(c == .init(undecodable: ["old"]))
        #expect(view.peers.isEmpty)
    }
}
