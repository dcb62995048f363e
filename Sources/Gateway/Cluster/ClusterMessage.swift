/// A delivery as it crosses from one node to the others through Redis: who it is for, who is
/// excluded, and the push itself (command and data, not frames: each receiving node encodes the
/// frames once for its own recipients). Sent as one Redis message per channel, in a compact binary
/// form of our own, versioned so nodes of two releases can tell they disagree.
///
/// Layout (integers big-endian):
/// `version u8 | flags u8 | node (u8 length, bytes) | sent (u64: the publishing node's wall clock,
/// Unix microseconds) | target kind u8 | target | except (u16 count,
/// keys) | command (u16 length, bytes) | data (the rest)`, where a target is nothing
/// (`all`), one name (`room`, `user`: u16 length, bytes), a list of names (`rooms`: u16 count, then
/// names), or keys (`connections`: u16 count, then keys). A key is its node's id (u8 length,
/// bytes), its loop (u8), and its high (u64) and low (u32) bits.
struct ClusterMessage: Equatable, Sendable {
    /// The node that published it; a node ignores its own messages (it delivered locally already).
    var origin: String
    /// When the origin published it (its wall clock, Unix µs): receivers measure the cross-node
    /// latency from it (`gateway_cluster_delivery_latency_seconds`).
    var sentMicros: UInt64
    var target: DeliveryTarget
    var except: [ConnectionKey]
    var command: String
    var data: [UInt8]
    var dataIsJSON: Bool
    var binary: Bool

    /// The layout's version byte.
    /// 2 added `sent`.
    static let version: UInt8 = 2

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
        out.appendWireShortString(origin)
        out.appendWire(sentMicros)
        switch target {
        case .all: out.append(0)
        case .room(let r):
            out.append(1)
            out.appendWireName(r)
        case .rooms(let rs):
            out.append(2)
            out.appendWireNames(rs)
        case .user(let u):
            out.append(3)
            out.appendWireName(u)
        case .connections(let ks):
            out.append(4)
            out.appendWireKeys(ks)
        }
        out.appendWireKeys(except)
        out.appendWireName(command)
        out.append(contentsOf: data)
    }

    /// Decodes a message encoded by `encode(into:)`.
    init(decoding bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        var r = ClusterWireReader(bytes: bytes)
        let version = try r.u8()
        guard version == Self.version else { throw .unsupportedVersion(version) }
        let flags = try r.u8()
        dataIsJSON = flags & 1 != 0
        binary = flags & 2 != 0
        origin = try r.shortString()
        sentMicros = try r.integer(UInt64.self)
        switch try r.u8() {
        case 0: target = .all
        case 1: target = .room(try r.name())
        case 2: target = .rooms(try r.names())
        case 3: target = .user(try r.name())
        case 4: target = .connections(try r.keys())
        case let k: throw .unknownTarget(k)
        }
        except = try r.keys()
        command = try r.name()
        data = Array(r.rest)
    }

    /// Decodes a message from Redis' bytes.
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> ClusterMessage {
        // A Result out of a non-throwing closure: a typed-throws closure here trips the 6.3 compiler.
        let result = bytes.withUnsafeBytes { raw -> Result<ClusterMessage, DecodeError> in
            do throws(DecodeError) { return .success(try ClusterMessage(decoding: raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// - Parameter sentMicros: now, unless given (tests).
    init(origin: String, target: DeliveryTarget, except: [ConnectionKey], command: String, data: [UInt8],
         dataIsJSON: Bool, binary: Bool, sentMicros: UInt64 = WallClock.micros()) {
        self.origin = origin
        self.sentMicros = sentMicros
        self.target = target
        self.except = except
        self.command = command
        self.data = data
        self.dataIsJSON = dataIsJSON
        self.binary = binary
    }
}
