@testable import Gateway
import Testing

@Suite("Session table")
struct SessionTableTests {
    /// Keys whose random bits are chosen, so that runs and wrap-arounds can be made on purpose.
    func key(_ high: UInt64, _ low: UInt32 = 0) -> ConnectionKey { ConnectionKey(loop: 0, high: high, low: low) }

    @Test func findsWhatWasInsertedAndNothingElse() {
        var t = SessionTable()
        #expect(t.isEmpty && t[key(1)] == nil)
        let a = SessionShard.Handle(key: key(1)), b = SessionShard.Handle(key: key(2))
        t.insert(a)
        t.insert(b)
        #expect(t.count == 2)
        #expect(t[key(1)] === a && t[key(2)] === b)
        #expect(t[key(1, 1)] == nil, "the whole key is compared")
        let a2 = SessionShard.Handle(key: key(1))
        t.insert(a2)
        #expect(t.count == 2 && t[key(1)] === a2, "the same key replaces")
    }

    @Test func removalKeepsCollidingKeysReachable() {
        var t = SessionTable()
        // 16 buckets at first: these all start in bucket 3 (and the last wraps around the end).
        let colliding = (0..<6).map { SessionShard.Handle(key: key(3 + UInt64($0) * 16)) }
        let wrap = (0..<3).map { SessionShard.Handle(key: key(15 + UInt64($0) * 16)) }
        for h in colliding + wrap { t.insert(h) }
        t.remove(colliding[1].key)
        t.remove(wrap[0].key)
        t.remove(key(999))
        #expect(t.count == 7)
        for h in colliding + wrap where h !== colliding[1] && h !== wrap[0] { #expect(t[h.key] === h) }
        #expect(t[colliding[1].key] == nil && t[wrap[0].key] == nil)
    }

    @Test func agreesWithADictionaryThroughGrowthAndRemovals() {
        var t = SessionTable()
        var reference: [ConnectionKey: SessionShard.Handle] = [:]
        var rng = SystemRandomNumberGenerator()
        var keys: [ConnectionKey] = []
        for i in 0..<5000 {
            let k = key(rng.next(), UInt32(truncatingIfNeeded: i))
            let h = SessionShard.Handle(key: k)
            t.insert(h)
            reference[k] = h
            keys.append(k)
            if i % 3 == 0, let victim = keys.randomElement() {
                t.remove(victim)
                reference[victim] = nil
            }
        }
        #expect(t.count == reference.count)
        for k in keys { #expect(t[k] === reference[k]) }
    }
}
