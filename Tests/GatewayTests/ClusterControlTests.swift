@testable import Gateway
import Testing

@Suite("ClusterControl")
struct ClusterControlTests {
    @Test("both operations survive the wire, with the key's node", arguments: [
        ClusterControl.Operation.close(code: 4000, reason: "kicked ü"),
        .rooms(join: ["a", "b"], leave: []), .rooms(join: [], leave: ["c"]),
    ])
    func roundTrip(_ operation: ClusterControl.Operation) throws {
        let key = try #require(ConnectionKey(parsing: "ctl-node." + "02" + "00000000000000ff" + "00000001"))
        let c = ClusterControl(key: key, operation: operation)
        let bytes = c.encode()
        #expect(bytes.first == ClusterControl.marker)
        #expect(ClusterControl(decoding: bytes) == c)
        for cut in 0..<bytes.count {
            #expect(ClusterControl(decoding: Array(bytes[0..<cut])) == nil, "cut at \(cut)")
        }
    }

    @Test("a cluster message is not a control message")
    func notControl() {
        var bytes: [UInt8] = []
        ClusterMessage(origin: "n", target: .all, except: [], command: "c", data: [], dataIsJSON: false, binary: false)
            .encode(into: &bytes)
        #expect(ClusterControl(decoding: bytes) == nil)
    }
}
