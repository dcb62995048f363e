internal import GatewayBuffers
internal import GatewayIO
internal import GatewayJSON

/// What the admin API shows about one WebSocket connection.
struct ConnectionInfo: Sendable {
    var id: String
    var loop: Int
    var path: String
    var user: String?
    var rooms: [String]
    var remoteAddress: String
    var connectedMs: Int
    var queuedBytes: Int
    var inflight: Int

    /// The object `write` writes, on its own.
    var json: [UInt8] {
        var b = ByteBuffer(capacity: 256)
        write(into: &b)
        return b.readableArray
    }

    func write(into b: inout ByteBuffer) {
        b.write(string: "{\"id\":")
        JSONWriter.writeString(id, into: &b)
        b.write(string: ",\"loop\":")
        b.write(decimal: loop)
        b.write(string: ",\"path\":")
        JSONWriter.writeString(path, into: &b)
        b.write(string: ",\"user\":")
        if let user { JSONWriter.writeString(user, into: &b) } else { b.write(string: "null") }
        b.write(string: ",\"rooms\":")
        AdminJSON.writeStrings(rooms, into: &b)
        b.write(string: ",\"remoteAddress\":")
        JSONWriter.writeString(remoteAddress, into: &b)
        b.write(string: ",\"connectedMs\":")
        b.write(decimal: connectedMs)
        b.write(string: ",\"queuedBytes\":")
        b.write(decimal: queuedBytes)
        b.write(string: ",\"inflight\":")
        b.write(decimal: inflight)
        b.write(byte: UInt8(ascii: "}"))
    }
}

enum AdminJSON {
    static func writeStrings(_ a: [String], into b: inout ByteBuffer) {
        b.write(byte: UInt8(ascii: "["))
        for (i, s) in a.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(s, into: &b)
        }
        b.write(byte: UInt8(ascii: "]"))
    }
}

/// Query string parameters (`a=1&b=x%20y`), percent-decoded; `+` is a space (see `QueryString`).
struct AdminQuery {
    private var items: [String: String] = [:]

    init(_ query: String) {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = kv.first.flatMap({ Self.decode($0) }) else { continue }
            let v = kv.count > 1 ? Self.decode(kv[1]) ?? "" : ""
            if items[k] == nil, !v.isEmpty { items[k] = v }
        }
    }

    subscript(key: String) -> String? { items[key] }

    static func decode(_ s: Substring) -> String? {
        let bytes = Array(s.utf8)
        var out = [UInt8](repeating: 0, count: bytes.count)
        guard let n = bytes.withUnsafeBytes({ b in out.withUnsafeMutableBytes { QueryString.decode(b, into: $0) } }) else { return nil }
        return String(validating: out.prefix(n), as: UTF8.self)
    }
}
