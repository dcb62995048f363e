internal import GatewayBuffers
internal import GatewayJSON

/// One node's heartbeat record, the value of `<prefix>:node:<id>` in Redis (DESIGN §8): who the node
/// is, where it listens and how many WebSockets it holds, as of `heartbeatMs`.
///
/// Stored as a small JSON object, `{"id","address","connections","startedMs","heartbeatMs"}`, so an
/// operator can read it with `redis-cli GET` and a later version can add fields: decoding ignores
/// members it does not know and needs only the five above.
struct NodeRecord: Sendable, Equatable {
    /// The node's id (`cluster.node`, or the random one it chose).
    var id: String
    /// The node's public listen address as bound (`127.0.0.1:8080`), for operators and load-balancer
    /// checks; the gateway itself never connects to it.
    var address: String
    /// Open WebSocket connections on the node, across its loops.
    var connections: Int
    /// When the node started, in Unix milliseconds (its own clock).
    var startedMs: Int
    /// When the node wrote this record, in Unix milliseconds (its own clock: compare across nodes
    /// with care; the node list judges freshness by the key's TTL in Redis instead).
    var heartbeatMs: Int

    /// Why a stored value is not a record.
    enum DecodeError: Error, Equatable, CustomStringConvertible {
        /// Not JSON at all (the parser's message).
        case notJSON(String)
        /// JSON, but not an object.
        case notAnObject
        /// A required member is missing or has the wrong type.
        case badField(String)

        var description: String {
            switch self {
            case .notJSON(let m): "node record is not JSON: \(m)"
            case .notAnObject: "node record is not a JSON object"
            case .badField(let f): "node record has no valid \"\(f)\""
            }
        }
    }

    /// The record as compact JSON bytes.
    func encoded() -> [UInt8] {
        var b = ByteBuffer(capacity: 128)
        b.write(string: "{\"id\":")
        JSONWriter.writeString(id, into: &b)
        b.write(string: ",\"address\":")
        JSONWriter.writeString(address, into: &b)
        b.write(string: ",\"connections\":")
        b.write(decimal: connections)
        b.write(string: ",\"startedMs\":")
        b.write(decimal: startedMs)
        b.write(string: ",\"heartbeatMs\":")
        b.write(decimal: heartbeatMs)
        b.write(byte: UInt8(ascii: "}"))
        return b.readableArray
    }

    /// Reads a record written by `encoded()` (by this or another node's version). Values come from
    /// Redis, so anything can be there: every problem is an error, never a crash.
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> NodeRecord {
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) in try JSONValue.parse(raw, maxDepth: 8) }
        }
        let value: JSONValue
        switch parsed {
        case .success(let v): value = v
        case .failure(let e): throw .notJSON("\(e)")
        }
        guard let o = value.objectValue else { throw .notAnObject }
        func string(_ name: String) throws(DecodeError) -> String {
            guard let s = o[name]?.stringValue else { throw .badField(name) }
            return s
        }
        func count(_ name: String) throws(DecodeError) -> Int {
            guard let n = o[name]?.intValue, n >= 0 else { throw .badField(name) }
            return n
        }
        let id = try string("id")
        guard !id.isEmpty else { throw .badField("id") }
        return NodeRecord(id: id, address: try string("address"), connections: try count("connections"),
                          startedMs: try count("startedMs"), heartbeatMs: try count("heartbeatMs"))
    }
}
