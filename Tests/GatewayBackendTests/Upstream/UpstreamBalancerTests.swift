import GatewayBackend
import Testing

@Suite("UpstreamBalancer")
struct UpstreamBalancerTests {
    @Test func roundRobinTakesTurns() {
        var b = UpstreamBalancer(policy: .roundRobin)
        let picks = (0..<6).map { _ in b.pick(count: 3, allowed: { _ in true }, inflight: { _ in 0 }) }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }

    @Test func roundRobinSkipsWhatIsNotAllowed() {
        var b = UpstreamBalancer(policy: .roundRobin)
        let picks = (0..<4).map { _ in b.pick(count: 3, allowed: { $0 != 1 }, inflight: { _ in 0 }) }
        #expect(picks == [0, 2, 0, 2])
        let p19 = b.pick(count: 3, allowed: { _ in false }, inflight: { _ in 0 })
        #expect(p19 == nil)
        let p20 = b.pick(count: 0, allowed: { _ in true }, inflight: { _ in 0 })
        #expect(p20 == nil)
    }

    @Test func leastInflightPrefersTheIdlest() {
        var b = UpstreamBalancer(policy: .leastInflight)
        let load = [5, 1, 3]
        let p21 = b.pick(count: 3, allowed: { _ in true }, inflight: { load[$0] })
        #expect(p21 == 1)
        let p22 = b.pick(count: 3, allowed: { _ in true }, inflight: { load[$0] })
        #expect(p22 == 1)
        let p23 = b.pick(count: 3, allowed: { $0 != 1 }, inflight: { load[$0] })
        #expect(p23 == 2)
    }

    @Test func leastInflightTiesGoInTurn() {
        var b = UpstreamBalancer(policy: .leastInflight)
        let picks = (0..<6).map { _ in b.pick(count: 3, allowed: { _ in true }, inflight: { _ in 2 }) }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }
}
