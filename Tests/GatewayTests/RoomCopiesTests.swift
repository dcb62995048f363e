@testable import Gateway
import GatewayRedis
import Testing

@Suite("Cluster: the copy of a several-rooms delivery a node delivers")
struct RoomCopiesTests {
    static let r1 = "gw:room:r1", r2 = "gw:room:r2", r3 = "gw:room:r3"

    static func sub(_ name: String) -> RedisSubscriptionConfirmation { .init(kind: .subscribe, name: name, count: 1) }
    static func unsub(_ name: String) -> RedisSubscriptionConfirmation { .init(kind: .unsubscribe, name: name, count: 0) }

    /// One instance: every channel on shard 0.
    static func delivers(_ copies: RoomCopies, _ channel: String, of channels: [String]) -> Bool {
        copies.delivers(copyOn: channel, of: channels, shard: { _ in 0 })
    }

    @Test("the copy of the first room subscribed when it was published, and no other")
    func firstSubscribed() {
        var copies = RoomCopies(instances: 1)
        copies.confirmed(Self.sub(Self.r2), shard: 0)
        copies.confirmed(Self.sub(Self.r3), shard: 0)
        #expect(Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2, Self.r3]))
        #expect(!Self.delivers(copies, Self.r3, of: [Self.r1, Self.r2, Self.r3]))
        // The delivery's order decides, not the order of subscription.
        #expect(Self.delivers(copies, Self.r3, of: [Self.r3, Self.r2]))
        #expect(!Self.delivers(copies, Self.r2, of: [Self.r3, Self.r2]))
    }

    @Test("a room being subscribed counts only from Redis' confirmation on: copies already on their way are delivered")
    func joinWhileCopiesAreOnTheirWay() {
        var copies = RoomCopies(instances: 1)
        copies.confirmed(Self.sub(Self.r2), shard: 0)
        // The node sent SUBSCRIBE r1 (a member joined r1); messages published before Redis ran it
        // come with an r2 copy only, and must be delivered from it.
        #expect(Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2]))
        copies.confirmed(Self.sub(Self.r1), shard: 0)
        // From the confirmation on both copies come; the r1 one is delivered.
        #expect(Self.delivers(copies, Self.r1, of: [Self.r1, Self.r2]))
        #expect(!Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2]))
    }

    @Test("a room being left counts until Redis' confirmation: the second copy of a message is not delivered again")
    func leaveBetweenTwoCopies() {
        var copies = RoomCopies(instances: 1)
        copies.confirmed(Self.sub(Self.r1), shard: 0)
        copies.confirmed(Self.sub(Self.r2), shard: 0)
        // The node sent UNSUBSCRIBE r1 after taking the r1 copy of a message; its r2 copy is
        // still ahead of the confirmation in the stream.
        #expect(Self.delivers(copies, Self.r1, of: [Self.r1, Self.r2]))
        #expect(!Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2]))
        copies.confirmed(Self.unsub(Self.r1), shard: 0)
        #expect(Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2]))
    }

    @Test("a lost subscriber connection forgets its instance's subscriptions; patterns are not rooms")
    func lostAndPatterns() {
        var copies = RoomCopies(instances: 2)
        copies.confirmed(Self.sub(Self.r1), shard: 0)
        copies.confirmed(.init(kind: .psubscribe, name: Self.r1, count: 1), shard: 1)
        let shard: (String) -> Int = { $0 == Self.r1 ? 0 : 1 }
        #expect(!copies.delivers(copyOn: Self.r2, of: [Self.r1, Self.r2], shard: shard))
        copies.lost(shard: 0)
        #expect(copies.delivers(copyOn: Self.r2, of: [Self.r1, Self.r2], shard: shard))
        // An instance out of range is ignored rather than trapping.
        copies.confirmed(Self.sub(Self.r1), shard: 5)
        copies.lost(shard: 5)
    }

    @Test("the copy a node got is delivered when the sets know none of the rooms")
    func arrivedOnCountsAsSubscribed() {
        let copies = RoomCopies(instances: 1)
        #expect(Self.delivers(copies, Self.r2, of: [Self.r1, Self.r2]))
    }
}

@Suite("Cluster: publishing a delivery's copies")
struct PublishCommandsTests {
    static func text(_ c: RedisCommand) -> String { String(decoding: c.encoded, as: UTF8.self) }

    @Test("several rooms on one instance: one script run that publishes on each, in order")
    func oneScript() {
        let out = ClusterNode.publishCommands(Array("m".utf8), on: ["t:room:a", "t:room:b"], together: true, instances: 1)
        #expect(out.count == 1)
        #expect(out[0].shard == 0 && out[0].copies == 2)
        let s = ClusterNode.publishEachScript
        #expect(Self.text(out[0].command) == "*6\r\n$4\r\nEVAL\r\n$\(s.utf8.count)\r\n\(s)\r\n$1\r\n0\r\n$1\r\nm\r\n$8\r\nt:room:a\r\n$8\r\nt:room:b\r\n")
    }

    @Test("one channel, or channels that need no atomicity: a PUBLISH each")
    func plainPublishes() {
        let one = ClusterNode.publishCommands(Array("m".utf8), on: ["t:room:a"], together: true, instances: 1)
        #expect(one.count == 1 && one[0].copies == 1)
        #expect(Self.text(one[0].command) == "*3\r\n$7\r\nPUBLISH\r\n$8\r\nt:room:a\r\n$1\r\nm\r\n")
        let nodes = ClusterNode.publishCommands(Array("m".utf8), on: ["t:node:a", "t:node:b"], together: false, instances: 1)
        #expect(nodes.map(\.copies) == [1, 1])
        #expect(nodes.allSatisfy { Self.text($0.command).hasPrefix("*3\r\n$7\r\nPUBLISH\r\n") })
    }

    @Test("several instances: one command per instance, each channel on its own instance, none twice")
    func perInstance() {
        let channels = (0..<12).map { "t:room:r\($0)" }
        let out = ClusterNode.publishCommands(Array("m".utf8), on: channels, together: true, instances: 3)
        #expect(Set(out.map(\.shard)).count == out.count)
        #expect(out.reduce(0) { $0 + $1.copies } == channels.count)
        for group in out {
            let text = Self.text(group.command)
            let mine = channels.filter { ClusterNode.shard(of: $0, count: 3) == group.shard }
            #expect(mine.count == group.copies)
            #expect(mine.allSatisfy { text.contains("\r\n\($0)\r\n") })
        }
    }
}
