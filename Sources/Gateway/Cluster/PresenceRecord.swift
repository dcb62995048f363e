internal import GatewayBuffers
internal import GatewayJSON

/// What the cluster keeps in Redis about one WebSocket session, so that a surviving node can send
/// its disconnect hook if the node it lives on dies (DESIGN §8): the module (whose `disconnect`
/// URL every node's config has), the user, the rooms, and when it opened (wall clock, ms since
/// 1970, as durations are measured across nodes). Stored as JSON in the hash
/// `<prefix>:conns:<node id>`, one field per connection id.
struct PresenceRecord: Equatable, Sendable {
    var module: String
    var user: String?
    var rooms: [String]
    var openedMs: Int64

    /// The JSON stored in Redis.
    var json: [UInt8] {
        var b = ByteBuffer(capacity: 96)
        b.write(string: "{\"module\":")
        JSONWriter.writeString(module, into: &b)
        b.write(string: ",\"user\":")
        if let user { JSONWriter.writeString(user, into: &b) } else { b.write(string: "null") }
        b.write(string: ",\"rooms\":[")
        for (i, r) in rooms.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(r, into: &b)
        }
        b.write(string: "],\"openedMs\":\(openedMs)}")
        return b.readableArray
    }

    init(module: String, user: String?, rooms: [String], openedMs: Int64) {
        self.module = module
        self.user = user
        self.rooms = rooms
        self.openedMs = openedMs
    }

    /// Reads a record written by `json`; nil for anything else (a record of another release).
    init?(json bytes: [UInt8]) {
        let parsed = bytes.withUnsafeBytes { raw -> JSONValue? in
            do throws(JSONError) { return try JSONValue.parse(raw) } catch { return nil }
        }
        guard let v = parsed, let module = v["module"]?.stringValue, let opened = v["openedMs"]?.intValue,
            let rooms = v["rooms"]?.arrayValue
        else { return nil }
        self.module = module
        self.user = v["user"]?.stringValue
        self.rooms = rooms.compactMap(\.stringValue)
        self.openedMs = Int64(opened)
    }
}
