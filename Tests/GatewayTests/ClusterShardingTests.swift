@testable import Gateway
import Testing

@Suite("Cluster sharding")
struct ClusterShardingTests {
    static let channels = (0..<10_000).map { "gw:room:r\($0)" }

    @Test("a channel's instance is in range, the same every time, and instances share the load")
    func spread() {
        for n in [1, 2, 3, 7] {
            var load = Array(repeating: 0, count: n)
            for c in Self.channels {
                let s = ClusterNode.shard(of: c, count: n)
                #expect(s == ClusterNode.shard(of: c, count: n))
                load[s] += 1
            }
            let even = Self.channels.count / n
            #expect(load.allSatisfy { abs($0 - even) < even / 10 }, "within 10 % of even: \(load)")
        }
    }

    @Test("adding an instance moves channels only onto the new one (consistent hashing)")
    func consistency() {
        var moved = 0
        for c in Self.channels {
            let before = ClusterNode.shard(of: c, count: 3), after = ClusterNode.shard(of: c, count: 4)
            if before != after {
                #expect(after == 3, "\(c) moved from \(before) to \(after)")
                moved += 1
            }
        }
        #expect(moved > 2_000 && moved < 3_000, "about a quarter moves: \(moved)")
    }
}
