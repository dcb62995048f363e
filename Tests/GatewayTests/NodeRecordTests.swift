@testable import Gateway
import Testing

@Suite("NodeRecord")
struct NodeRecordTests {
    static let records: [NodeRecord] = [
        NodeRecord(id: "n0123456789", address: "0.0.0.0:8080", connections: 0, startedMs: 1_700_000_000_000,
                   heartbeatMs: 1_700_000_003_333),
        NodeRecord(id: "node-b_2", address: "[::1]:9000", connections: 123_456, startedMs: 0, heartbeatMs: Int(Int32.max) * 4),
        // Nothing a node id allows needs escaping, but an address is only text: it must survive too.
        NodeRecord(id: "x", address: "we\"ird\\ad\u{1}dr ü", connections: 1, startedMs: 5, heartbeatMs: 6),
    ]

    @Test("a record survives encoding", arguments: records)
    func roundTrip(_ record: NodeRecord) throws {
        #expect(try NodeRecord.decode(record.encoded()) == record)
    }

    @Test("the stored form is the documented JSON object")
    func storedForm() {
        let r = NodeRecord(id: "na", address: "127.0.0.1:8080", connections: 3, startedMs: 10, heartbeatMs: 20)
        #expect(String(decoding: r.encoded(), as: UTF8.self)
            == #"{"id":"na","address":"127.0.0.1:8080","connections":3,"startedMs":10,"heartbeatMs":20}"#)
    }

    @Test("members in any order, and unknown ones, are accepted (a newer node may add fields)")
    func tolerant() throws {
        let json = #"{"heartbeatMs":20,"state":"draining","connections":3,"id":"na","startedMs":10,"address":"a:1","extra":{"x":[1]}}"#
        #expect(try NodeRecord.decode(Array(json.utf8))
            == NodeRecord(id: "na", address: "a:1", connections: 3, startedMs: 10, heartbeatMs: 20))
    }

    @Test("anything else in the key is an error, never a crash",
          arguments: [
              ("", "notJSON"), ("{", "notJSON"), ("nope", "notJSON"), ("[]", "notAnObject"), ("\"na\"", "notAnObject"),
              (#"{"address":"a","connections":1,"startedMs":1,"heartbeatMs":1}"#, "id"),
              (#"{"id":"","address":"a","connections":1,"startedMs":1,"heartbeatMs":1}"#, "id"),
              (#"{"id":7,"address":"a","connections":1,"startedMs":1,"heartbeatMs":1}"#, "id"),
              (#"{"id":"n","connections":1,"startedMs":1,"heartbeatMs":1}"#, "address"),
              (#"{"id":"n","address":"a","connections":-1,"startedMs":1,"heartbeatMs":1}"#, "connections"),
              (#"{"id":"n","address":"a","connections":1.5,"startedMs":1,"heartbeatMs":1}"#, "connections"),
              (#"{"id":"n","address":"a","connections":"1","startedMs":1,"heartbeatMs":1}"#, "connections"),
              (#"{"id":"n","address":"a","connections":1,"heartbeatMs":1}"#, "startedMs"),
              (#"{"id":"n","address":"a","connections":1,"startedMs":1,"heartbeatMs":1e3}"#, "heartbeatMs"),
              (#"{"id":"n","address":"a","connections":1,"startedMs":1,"heartbeatMs":99999999999999999999}"#, "heartbeatMs"),
          ])
    func invalid(_ input: String, _ problem: String) {
        do {
            _ = try NodeRecord.decode(Array(input.utf8))
            Issue.record("decoded \(input)")
        } catch {
            switch error {
            case .notJSON: #expect(problem == "notJSON", "\(input): \(error)")
            case .notAnObject: #expect(problem == "notAnObject", "\(input): \(error)")
            case .badField(let f): #expect(problem == f, "\(input): \(error)")
            }
        }
    }

    @Test("every truncation of a record is refused")
    func truncation() {
        let bytes = Self.records[0].encoded()
        for cut in 0..<bytes.count {
            #expect(throws: NodeRecord.DecodeError.self) { try NodeRecord.decode(Array(bytes[0..<cut])) }
        }
    }
}

@Suite("ClusterStatus")
struct ClusterStatusTests {
    @Test("the /v1/cluster body has the shape DESIGN §8 fixes")
    func body() {
        let s = ClusterStatus(
            node: "na",
            nodes: [.init(id: "na", address: "127.0.0.1:1", lastHeartbeatMs: nil, connections: 2, degraded: true),
                    .init(id: "nb", address: "127.0.0.1:2", lastHeartbeatMs: 42, connections: 0, degraded: false)],
            redis: [.init(url: "redis://u:***@127.0.0.1:6379/0", up: false, queued: 3)],
            published: 1, received: 2, dropped: 3)
        let text = String(decoding: s.json(), as: UTF8.self)
        #expect(text == #"{"node":"na","nodes":[{"id":"na","address":"127.0.0.1:1","lastHeartbeatMs":null,"connections":2,"state":"degraded"},{"id":"nb","address":"127.0.0.1:2","lastHeartbeatMs":42,"connections":0,"state":"up"}],"redis":[{"url":"redis://u:***@127.0.0.1:6379/0","state":"down"}]}"#)
    }

    @Test("cluster metrics: one up sample per endpoint, queue depth summed")
    func metrics() {
        let s = ClusterStatus(
            node: "na", nodes: [.init(id: "na", address: "a", lastHeartbeatMs: 1, connections: 0, degraded: false)],
            redis: [.init(url: "redis://127.0.0.1:1/0", up: true, queued: 2), .init(url: "redis://127.0.0.1:2/0", up: false, queued: 5)],
            published: 7, received: 8, dropped: 9)
        let text = PrometheusText.renderCluster(s)
        for line in ["gateway_cluster_redis_up{url=\"redis://127.0.0.1:1/0\"} 1", "gateway_cluster_redis_up{url=\"redis://127.0.0.1:2/0\"} 0",
                     "gateway_cluster_nodes 1", "gateway_cluster_published_total 7", "gateway_cluster_received_total 8",
                     "gateway_cluster_dropped_total 9", "gateway_cluster_queue_depth 7"] {
            #expect(text.contains("\n" + line + "\n"), "\(line)")
        }
    }
}
