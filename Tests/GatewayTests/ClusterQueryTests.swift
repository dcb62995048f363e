@testable import Gateway
import Testing

@Suite("ClusterQuery")
struct ClusterQueryTests {
    @Test("every question and an answer survive the wire", arguments: [
        ClusterQuery.Body.ask(.connections(room: nil, user: nil)), .ask(.connections(room: "r ü", user: nil)),
        .ask(.connections(room: nil, user: "u")), .ask(.connections(room: "r", user: "u")),
        .ask(.connection("n1.0123")), .ask(.stats), .answer([]), .answer([1, 2, 3, 0xC1]),
    ])
    func roundTrip(_ body: ClusterQuery.Body) {
        let q = ClusterQuery(request: 0xDEAD_BEEF, node: "node-7", body: body)
        let bytes = q.encode()
        #expect(bytes.first == ClusterQuery.marker)
        #expect(ClusterQuery(decoding: bytes) == q)
        #expect(ClusterControl(decoding: bytes) == nil, "not a control message")
        guard case .ask = body else { return }
        // A question cut anywhere, or with a byte too many, is not a question.
        for cut in 0..<bytes.count {
            #expect(ClusterQuery(decoding: Array(bytes[0..<cut])) == nil, "cut at \(cut)")
        }
        #expect(ClusterQuery(decoding: bytes + [0]) == nil)
    }

    @Test("neither a cluster message nor a control message is a query")
    func notQuery() throws {
        var bytes: [UInt8] = []
        ClusterMessage(origin: "n", target: .all, except: [], command: "c", data: [], dataIsJSON: false, binary: false)
            .encode(into: &bytes)
        #expect(ClusterQuery(decoding: bytes) == nil)
        let key = try #require(ConnectionKey(parsing: "q-node." + "02" + "00000000000000ff" + "00000001"))
        #expect(ClusterQuery(decoding: ClusterControl(key: key, operation: .close(code: 1000, reason: "")).encode()) == nil)
    }

    @Test("a connection list keeps its full count when it lists fewer")
    func connectionList() {
        let infos = (0..<5).map {
            ConnectionInfo(id: "n.\($0)", loop: 0, path: "/c", user: $0 == 2 ? "ü" : nil, rooms: ["r"],
                           remoteAddress: "127.0.0.1", connectedMs: 5, queuedBytes: 0, inflight: 1)
        }
        let list = ConnectionList(infos, limit: 3)
        #expect(list.total == 5 && list.entries.map(\.id) == ["n.0", "n.1", "n.2"])
        #expect(list.entries[2].json == infos[2].json)
        let bytes = list.encoded
        #expect(ConnectionList(decoding: bytes) == list)
        for cut in 0..<bytes.count { #expect(ConnectionList(decoding: Array(bytes[0..<cut])) == nil, "cut at \(cut)") }
        #expect(ConnectionList(decoding: bytes + [0]) == nil)
    }

    @Test("node stats survive the wire and add up, names counted once")
    func nodeStats() throws {
        var a = NodeStats()
        a.id = "a"
        a.engine = "epoll"
        a.uptimeSeconds = 7
        a.open = 3
        a.websockets = 2
        a.messagesReceived = 10
        a.bytesSent = 1 << 40
        a.hookFailures = 1
        a.rooms = ["lobby", "x"]
        a.users = ["u"]
        let decoded = try #require(NodeStats(json: a.json))
        #expect(decoded == a)
        var b = NodeStats()
        b.id = "b"
        b.websockets = 5
        b.messagesReceived = 1
        b.rooms = ["lobby", "y"]
        b.users = ["u", "v"]
        var total = a
        total.add(b)
        #expect(total.websockets == 7 && total.messagesReceived == 11 && total.bytesSent == 1 << 40)
        #expect(total.rooms == ["lobby", "x", "y"] && total.users == ["u", "v"])
        #expect(total.id == "a" && total.uptimeSeconds == 7, "the asking node's own")
        #expect(NodeStats(json: Array("{\"id\":1}".utf8)) == nil)
        #expect(NodeStats(json: Array("not json".utf8)) == nil)
    }
}
