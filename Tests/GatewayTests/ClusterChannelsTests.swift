@testable import Gateway
import Testing

@Suite("ClusterChannels")
struct ClusterChannelsTests {
    let names = ClusterChannels(prefix: "gw")

    @Test("every channel carries the prefix and its kind")
    func naming() {
        #expect(names.all == "gw:all")
        #expect(names.node("n1") == "gw:node:n1")
        #expect(names.room("lobby ü") == "gw:room:lobby ü")
        #expect(names.user("u:1") == "gw:user:u:1")
        #expect(names.ready("n1") == "gw:ready:n1")
        #expect(ClusterChannels(prefix: "other").all == "other:all", "clusters sharing a Redis never meet")
    }

    @Test("a delivery goes out once per channel; connections go to their nodes, never this one")
    func carrying() throws {
        let remote1 = try #require(ConnectionKey(parsing: "chan-a." + "00" + "0000000000000001" + "00000001"))
        let remote2 = try #require(ConnectionKey(parsing: "chan-a." + "01" + "0000000000000002" + "00000002"))
        let remote3 = try #require(ConnectionKey(parsing: "chan-b." + "00" + "0000000000000003" + "00000003"))
        let local = ConnectionKey(node: 0, loop: 0, high: 1, low: 1)
        #expect(names.carrying(.all) == ["gw:all"])
        #expect(names.carrying(.room("r")) == ["gw:room:r"])
        #expect(names.carrying(.user("u")) == ["gw:user:u"])
        #expect(names.carrying(.rooms(["a", "b", "a"])) == ["gw:room:a", "gw:room:b"])
        #expect(names.carrying(.connections([remote1, local, remote2, remote3])) == ["gw:node:chan-a", "gw:node:chan-b"])
        #expect(names.carrying(.connections([local])) == [])
    }

    @Test("the first loop with a member subscribes, the last to lose its member unsubscribes")
    func referenceCounts() {
        var interest = ChannelInterest()
        #expect(interest.change("gw:room:r", by: 1) == .subscribe("gw:room:r"))
        #expect(interest.change("gw:room:r", by: 1) == nil, "a second loop: already subscribed")
        #expect(interest.change("gw:user:u", by: 1) == .subscribe("gw:user:u"))
        #expect(interest.count == 2 && interest.contains("gw:room:r"))
        #expect(interest.change("gw:room:r", by: -1) == nil, "one loop still has a member")
        #expect(interest.change("gw:room:r", by: -1) == .unsubscribe("gw:room:r"))
        #expect(!interest.contains("gw:room:r"))
        #expect(interest.change("gw:room:r", by: -1) == nil, "a stray vanish never unsubscribes twice")
        #expect(interest.change("gw:room:r", by: 1) == .subscribe("gw:room:r"), "nor leaves a negative count")
    }

    @Test("index changes map to their channel and direction")
    func indexChanges() {
        #expect(ChannelInterest.channel(of: .roomAppeared("r"), in: names) == ("gw:room:r", 1))
        #expect(ChannelInterest.channel(of: .roomVanished("r"), in: names) == ("gw:room:r", -1))
        #expect(ChannelInterest.channel(of: .userAppeared("u"), in: names) == ("gw:user:u", 1))
        #expect(ChannelInterest.channel(of: .userVanished("u"), in: names) == ("gw:user:u", -1))
    }
}
