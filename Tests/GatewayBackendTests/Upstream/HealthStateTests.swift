import GatewayBackend
import Testing

@Suite("HealthState")
struct HealthStateTests {
    /// Feeds checks; returns which of them flipped the state.
    func feed(_ h: inout HealthState, _ checks: [Bool]) -> [Bool] {
        checks.map { h.record(passed: $0) }
    }

    @Test func unhealthyAfterNFailuresInARow() {
        var h = HealthState(unhealthyAfter: 3, healthyAfter: 2)
        #expect(h.healthy)
        // Two failures, a pass breaks the streak, then three failures.
        let flips = feed(&h, [false, false, true, false, false, false])
        #expect(flips == [false, false, false, false, false, true])
        #expect(!h.healthy)
    }

    @Test func healthyAfterMPassesInARow() {
        var h = HealthState(unhealthyAfter: 1, healthyAfter: 2, healthy: false)
        let flips = feed(&h, [true, false, true, true])
        #expect(flips == [false, false, false, true])
        #expect(h.healthy)
    }

    @Test func thresholdsAreAtLeastOne() {
        var h = HealthState(unhealthyAfter: 0, healthyAfter: 0)
        #expect(feed(&h, [false, true]) == [true, true])
    }
}
