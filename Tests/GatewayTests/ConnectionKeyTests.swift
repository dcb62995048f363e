@testable import Gateway
import Testing

@Suite("ConnectionKey")
struct ConnectionKeyTests {
    static let hex = "01" + "0123456789abcdef" + "deadbeef"

    @Test("the plain form is this node's, and round-trips")
    func plain() throws {
        let k = try #require(ConnectionKey(parsing: Self.hex))
        #expect(k.isLocal && k.loop == 1 && k.high == 0x0123_4567_89ab_cdef && k.low == 0xdead_beef)
        #expect(k.string == Self.hex)
    }

    @Test("an id naming another node keeps its node, round-trips, and differs from the local one")
    func otherNode() throws {
        let k = try #require(ConnectionKey(parsing: "web-7." + Self.hex))
        #expect(!k.isLocal && NodeNames.name(k.node) == "web-7")
        #expect(k.string == "web-7." + Self.hex)
        #expect(k != ConnectionKey(parsing: Self.hex))
        #expect(ConnectionKey(parsing: "web-7." + Self.hex)?.node == k.node, "a node keeps its index")
    }

    @Test("malformed ids do not parse")
    func malformed() {
        for bad in ["", ".\(Self.hex)", "n." + Self.hex.dropLast(), Self.hex + "0", "n." + Self.hex.uppercased(), "a.b"] {
            #expect(ConnectionKey(parsing: bad) == nil, "\(bad)")
        }
    }
}
