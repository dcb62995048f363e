internal import GatewayIO

/// Node ids as small numbers, so a `ConnectionKey` can say which node owns it without growing past
/// 16 bytes: index 0 is this node; other nodes' ids are added as their connection ids are parsed
/// (from the admin API, backend headers, cluster messages). Process-wide and append-only.
enum NodeNames {
    /// At most this many other nodes' ids are remembered; an id naming a further node does not
    /// parse (an unknown connection), so input cannot grow the table without bound.
    static let capacity = 1024

    private static let table = Locked<[String]>([""])
    /// This node's id as a text prefix (`<id>.`), or empty for a single node. Set once, before the
    /// loops start (`setSelf`), and only read afterwards.
    nonisolated(unsafe) private(set) static var selfPrefix: [UInt8] = []

    /// Names this node (cluster mode): its connection ids become `<id>.<26 hex digits>`.
    static func setSelf(_ id: String) {
        table.withLock { $0[0] = id }
        selfPrefix = Array(id.utf8) + [UInt8(ascii: ".")]
    }

    /// The index of `name`, adding it if there is room; nil when the table is full.
    static func index(of name: Substring) -> UInt16? {
        table.withLock { names in
            if let i = names.firstIndex(where: { $0 == name }) { return UInt16(i) }
            guard names.count <= capacity else { return nil }
            names.append(String(name))
            return UInt16(names.count - 1)
        }
    }

    /// The index of the node that owns a connection, as its id is written: 0 for this node's own
    /// id, else `index(of:)`.
    static func index(ofOwner name: Substring) -> UInt16? {
        if name.utf8.elementsEqual(selfPrefix.dropLast()) { return 0 }
        return index(of: name)
    }

    /// The id of node `index` ("" for this node when it is not in a cluster).
    static func name(_ index: UInt16) -> String {
        table.withLock { Int(index) < $0.count ? $0[Int(index)] : "" }
    }
}
