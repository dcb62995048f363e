@testable import Gateway
import GatewayBuffers
import Testing

/// Records the pushes a session receives.
final class RecordingReceiver: SessionShard.Handle {
    var pushes = 0
    var accepts = true
    override func push(_ frames: PushFrames) -> Bool {
        guard accepts else { return false }
        pushes += 1
        return true
    }
}

@Suite("Session shard")
struct SessionShardTests {
    final class Keys {
        var pool = RandomPool()
        func next() -> ConnectionKey { ConnectionKey(loop: 0, pool: &pool) }
    }
    let keys = Keys()

    func key() -> ConnectionKey { keys.next() }

    func frames() -> PushFrames {
        let data = Array("{}".utf8)
        return data.withUnsafeBytes { PushFrames(command: "news", data: $0, dataIsJSON: true, binary: false, parsers: [.json]) }
    }

    @Test func addIndexesUserAndRoomsOnceEach() {
        let shard = SessionShard()
        let k = key()
        let r = RecordingReceiver(key: k)
        let h = shard.add(r, user: "ann", rooms: ["a", "b", "a", ""])
        #expect(h.rooms == ["a", "b"], "duplicates and empty names dropped, order kept")
        #expect(shard.byID[k] === h)
        #expect(shard.users["ann"]?.count == 1)
        #expect(shard.rooms["a"]?.count == 1 && shard.rooms["b"]?.count == 1)
        #expect(shard.count == 1)
    }

    @Test func joinLeaveAndSetUserKeepTheIndexesInStep() {
        let shard = SessionShard()
        let h = shard.add(RecordingReceiver(key: key()), user: nil, rooms: [])
        shard.join(h, ["x", "y", "x"])
        #expect(h.rooms == ["x", "y"])
        #expect(shard.rooms["x"]?.count == 1)
        shard.leave(h, ["x", "nope"])
        #expect(h.rooms == ["y"])
        #expect(shard.rooms["x"] == nil, "an empty room is dropped")
        shard.setUser(h, "bob")
        #expect(shard.users["bob"]?.count == 1)
        shard.setUser(h, "carl")
        #expect(shard.users["bob"] == nil && shard.users["carl"]?.count == 1)
        shard.setUser(h, nil)
        #expect(shard.users.isEmpty && h.user == nil)
    }

    @Test func removeClearsEveryIndexAndKeepsTheOthersReachable() {
        let shard = SessionShard()
        let receivers = (0..<4).map { _ in RecordingReceiver(key: key()) }
        let handles = receivers.map { shard.add($0, user: "u", rooms: ["r"]) }
        shard.remove(handles[1])
        shard.remove(handles[1])  // twice is harmless
        #expect(shard.count == 3)
        #expect(shard.byID[handles[1].key] == nil)
        #expect(shard.users["u"]?.count == 3 && shard.rooms["r"]?.count == 3)
        #expect(shard.deliver(Delivery(target: .all, except: [], frames: frames())) == 3)
        #expect(receivers.map(\.pushes) == [1, 0, 1, 1])
        shard.join(handles[1], ["late"])
        #expect(shard.rooms["late"] == nil, "a removed session joins no index")
        for h in handles { shard.remove(h) }
        #expect(shard.count == 0 && shard.users.isEmpty && shard.rooms.isEmpty && shard.byID.isEmpty)
    }

    @Test func aDeliveryReachesEachRecipientOnceAndSkipsTheExcepted() {
        let shard = SessionShard()
        let a = RecordingReceiver(key: key()), b = RecordingReceiver(key: key()), c = RecordingReceiver(key: key())
        let ha = shard.add(a, user: "ann", rooms: ["x", "y"])
        _ = shard.add(b, user: nil, rooms: ["y"])
        let hc = shard.add(c, user: "ann", rooms: [])
        #expect(shard.deliver(Delivery(target: .rooms(["x", "y"]), except: [], frames: frames())) == 2, "a in both rooms gets it once")
        #expect(a.pushes == 1 && b.pushes == 1 && c.pushes == 0)
        #expect(shard.deliver(Delivery(target: .user("ann"), except: [ha.key], frames: frames())) == 1)
        #expect(a.pushes == 1 && c.pushes == 1)
        #expect(shard.deliver(Delivery(target: .connections([hc.key, hc.key, key()]), except: [], frames: frames())) == 1)
        #expect(shard.deliver(Delivery(target: .room("none"), except: [], frames: frames())) == 0)
        b.accepts = false
        #expect(shard.deliver(Delivery(target: .room("y"), except: [], frames: frames())) == 1, "a refused push is not counted")
    }

    @Test func indexChangesReportFirstArrivalAndLastDepartureOnly() {
        let shard = SessionShard()
        var changes: [SessionShard.IndexChange] = []
        shard.onIndexChange = { changes.append($0) }
        let r1 = RecordingReceiver(key: key()), r2 = RecordingReceiver(key: key())
        let h1 = shard.add(r1, user: "ann", rooms: ["a"])
        let h2 = shard.add(r2, user: "ann", rooms: ["a", "b"])
        #expect(changes == [.userAppeared("ann"), .roomAppeared("a"), .roomAppeared("b")], "the second member of a and ann says nothing")
        changes.removeAll()
        shard.leave(h2, ["b"])
        shard.setUser(h1, "bob")
        #expect(changes == [.roomVanished("b"), .userAppeared("bob")], "ann still has h2")
        changes.removeAll()
        shard.remove(h1)
        shard.remove(h2)
        #expect(changes == [.userVanished("bob"), .userVanished("ann"), .roomVanished("a")])
    }
}
