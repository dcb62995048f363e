@testable import Gateway
import Testing

@Suite("PresenceRecord")
struct PresenceRecordTests {
    @Test("survives Redis: user or none, rooms, quotes in names")
    func roundTrip() {
        for r in [PresenceRecord(module: "/c", user: "u-\"1\"", rooms: ["a", "b\\c"], openedMs: 1_764_000_000_123),
                  PresenceRecord(module: "/chat", user: nil, rooms: [], openedMs: 0)] {
            #expect(PresenceRecord(json: r.json) == r)
        }
    }

    @Test("anything else is not a record")
    func foreign() {
        for bad in ["", "{}", "[1]", #"{"module":"/c","rooms":[],"openedMs":"x"}"#, #"{"module":1,"rooms":[],"openedMs":1}"#] {
            #expect(PresenceRecord(json: Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
