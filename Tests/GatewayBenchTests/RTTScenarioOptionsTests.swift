internal import ArgumentParser
import Testing

@testable import GatewayBench

@Suite struct RTTScenarioOptionsTests {
    static let url = ["-u", "ws://127.0.0.1:9/echo"]

    @Test func closedLoopByDefault() throws {
        let r = try RTTScenario.parse(Self.url + ["-p", "8"])
        #expect(r.openLoop == nil)
        #expect(r.pipeline == 8)
        #expect(r.maxInFlight == RTTScenario.defaultMaxInFlight)
        #expect(r.grace == 2)
    }

    @Test func rateSelectsTheOpenLoop() throws {
        let r = try RTTScenario.parse(Self.url + ["-c", "100", "--rate", "50000", "--max-in-flight", "16", "--grace", "0.5"])
        #expect(r.openLoop == OpenLoopConfig(rate: 50_000, maxInFlight: 16, paceNanos: 0))
        #expect(r.grace == 0.5)
        #expect(r.common.connections == 100)
    }

    @Test func paceIsGivenInMicroseconds() throws {
        let r = try RTTScenario.parse(Self.url + ["--rate", "1000", "--pace-us", "50"])
        #expect(r.openLoop?.paceNanos == 50_000)
    }

    @Test func fractionalRateIsKept() throws {
        let r = try RTTScenario.parse(Self.url + ["--rate", "12345.5"])
        #expect(r.openLoop?.rate == 12_345.5)
        #expect(r.openLoop?.maxInFlight == RTTScenario.defaultMaxInFlight)
    }

    @Test(arguments: [
        ["--rate", "-1"],
        ["--rate", "inf"],
        ["--rate", "1000", "--max-in-flight", "0"],
        ["--rate", "1000", "--grace", "-1"],
        ["--rate", "1000", "--pace-us", "-5"],
        ["--rate", "1000", "--pace-us", "2000000"],
        ["--rate", "1000", "-p", "4"],  // depth belongs to the closed loop
    ])
    func invalidOpenLoopOptionsAreRejected(_ extra: [String]) {
        #expect(throws: (any Error).self) { try RTTScenario.parse(Self.url + extra) }
    }
}
