/// A delivery as it crosses from one node to the others through Redis: who it is for, who is
/// excluded, and the push itself (command and data, not frames: each receiving node encodes the
/// frames once for its own recipients). Sent as one Redis message per channel, in a compact binary
/// form of our own, versioned so nodes of two releases can tell they disagree.
///
/// Layout (integers big-endian):
/// `version u8 | flags u8 | node (u8 length, bytes) | target kind u8 | target | except (u16 count,
/// keys) | command (u16 length, bytes) | data (the rest)`, where a target is nothing
/// (`all`), one name (`room`, `user`: u16 length, bytes), a list of names (`rooms`: u16 count, then
/// names), or keys (`connections`: u16 count, then keys). A key is its node's id (u8 length,
/// bytes), its loop (u8), and its high (u64) and low (u32) bits.
struct ClusterMessage: Equatable, Sendable {
    /// The node that published it; a node ignores its own messages (it delivered locally already).
    var origin: String
    var target: DeliveryTarget
    var except: [ConnectionKey]
    var command: String
    var data: [UInt8]
    var dataIsJSON: Bool
    var binary: Bool

    /// The layout's version byte.
    static let version: UInt8 = 1

    /// Why bytes from Redis are not a message of this version.
    enum DecodeError: Error, Equatable, CustomStringConvertible {
        /// Another layout version (a node of another release).
        case unsupportedVersion(UInt8)
        /// The bytes end inside a field.
        case truncated
        /// An unknown target kind.
        case unknownTarget(UInt8)

        var description: String {
            switch self {
            case .unsupportedVersion(let v): "cluster message version \(v) (this node speaks \(ClusterMessage.version))"
            case .truncated: "truncated cluster message"
            case .unknownTarget(let k): "unknown cluster delivery target \(k)"
            }
        }
    }

    /// Appends the encoded message to `out`.
    func encode(into out: inout [UInt8]) {
        out.append(Self.version)
        out.append((dataIsJSON ? 1 : 0) | (binary ? 2 : 0))
        let node = Array(origin.utf8.prefix(255))
        out.append(UInt8(node.count))
        out.append(contentsOf: node)
        func name(_ s: String) {
            let b = Array(s.utf8.prefix(Int(UInt16.max)))
            Self.append(UInt16(b.count), to: &out)
            out.append(contentsOf: b)
        }
        func keys(_ ks: [ConnectionKey]) {
            let n = min(ks.count, Int(UInt16.max))
            Self.append(UInt16(n), to: &out)
            for k in ks.prefix(n) {
                let owner = Array(NodeNames.name(k.node).utf8.prefix(255))
                out.append(UInt8(owner.count))
                out.append(contentsOf: owner)
                out.append(k.loop)
                Self.append(k.high, to: &out)
                Self.append(k.low, to: &out)
            }
        }
        switch target {
        case .all: out.append(0)
        case .room(let r):
            out.append(1)
            name(r)
        case .rooms(let rs):
            out.append(2)
            let n = min(rs.count, Int(UInt16.max))
            Self.append(UInt16(n), to: &out)
            for r in rs.prefix(n) { name(r) }
        case .user(let u):
            out.append(3)
            name(u)
        case .connections(let ks):
            out.append(4)
            keys(ks)
        }
        keys(except)
        name(command)
        out.append(contentsOf: data)
    }

    /// Decodes a message encoded by `encode(into:)`.
    init(decoding bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        var r = Reader(bytes: bytes)
        let version = try r.u8()
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let flags = try r.u8()
        dataIsJSON = flags & 1 != 0
        binary = flags & 2 != 0
        origin = try r.string(length: Int(r.u8()))
        switch try r.u8() {
        case 0: target = .all
        case 1: target = .room(try r.name())
        case 2:
            var rooms: [String] = []
            for _ in 0..<(try r.u16()) { rooms.append(try r.name()) }
            target = .rooms(rooms)
        case 3: target = .user(try r.name())
        case 4: target = .connections(try r.keys())
        case let k: throw .unknownTarget(k)
        }
        except = try r.keys()
        command = try r.name()
        data = Array(bytes[r.offset...])
    }

    /// Decodes a message from Redis' bytes.
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> ClusterMessage {
        // A Result out of a non-throwing closure: a typed-throws closure here trips the 6.3 compiler.
        let result = bytes.withUnsafeBytes { raw -> Result<ClusterMessage, DecodeError> in
            do throws(DecodeError) { return .success(try ClusterMessage(decoding: raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    init(origin: String, target: DeliveryTarget, except: [ConnectionKey], command: String, data: [UInt8],
         dataIsJSON: Bool, binary: Bool) {
        self.origin = origin
        self.target = target
        self.except = except
        self.command = command
        self.data = data
        self.dataIsJSON = dataIsJSON
        self.binary = binary
    }

    private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
    }

    /// Reads fields off the front of the bytes, failing with `.truncated` past their end.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func take(_ n: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
            guard n <= bytes.count - offset else { throw .truncated }
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(DecodeError) -> T {
            let b = try take(MemoryLayout<T>.size)
            var v: T = 0
            for byte in b { v = v << 8 | T(byte) }
            return v
        }

        mutating func u8() throws(DecodeError) -> UInt8 { try integer(UInt8.self) }
        mutating func u16() throws(DecodeError) -> UInt16 { try integer(UInt16.self) }

        mutating func string(length: Int) throws(DecodeError) -> String {
            String(decoding: try take(length), as: UTF8.self)
        }

        mutating func name() throws(DecodeError) -> String { try string(length: Int(u16())) }

        mutating func keys() throws(DecodeError) -> [ConnectionKey] {
            let n = Int(try u16())
            var out: [ConnectionKey] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                let owner = try string(length: Int(u8()))
                let loop = try u8()
                let high = try integer(UInt64.self)
                let low = try integer(UInt32.self)
                // This node's own keys are node 0; a node the table has no room for cannot match
                // a connection here, so its keys are dropped.
                let node: UInt16? = owner == NodeNames.name(0) ? 0 : NodeNames.index(of: Substring(owner))
                if let node { out.append(ConnectionKey(node: node, loop: loop, high: high, low: low)) }
            }
            return out
        }
    }
}
