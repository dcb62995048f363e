@testable import Gateway
import Testing

@Suite("ClusterMessage")
struct ClusterMessageTests {
    static let key1 = ConnectionKey(loop: 1, high: 0x0123_4567_89ab_cdef, low: 0xdead_beef)
    static let key2 = ConnectionKey(loop: 0, high: 42, low: 7)

    static let messages: [ClusterMessage] = [
        ClusterMessage(origin: "n1", target: .all, except: [], command: "chat", data: Array("{\"a\":1}".utf8),
                       dataIsJSON: true, binary: false),
        ClusterMessage(origin: "node-b", target: .room("lobby"), except: [key1], command: "", data: [],
                       dataIsJSON: false, binary: false),
        ClusterMessage(origin: "x", target: .rooms(["a", "b", "ünï"]), except: [key1, key2], command: "c",
                       data: [0, 255, 13, 10], dataIsJSON: false, binary: true),
        ClusterMessage(origin: "x", target: .user("u-1"), except: [], command: "dm", data: Array("hi".utf8),
                       dataIsJSON: false, binary: false),
        ClusterMessage(origin: "x", target: .connections([key2, key1]), except: [key2], command: "c", data: [1],
                       dataIsJSON: true, binary: true),
    ]

    static func decode(_ bytes: [UInt8]) throws -> ClusterMessage { try ClusterMessage.decode(bytes) }

    @Test("every target kind survives encoding", arguments: messages)
    func roundTrip(_ message: ClusterMessage) throws {
        var bytes: [UInt8] = []
        message.encode(into: &bytes)
        let back = try Self.decode(bytes)
        #expect(back == message)
    }

    @Test("every truncation is refused, never misread")
    func truncation() {
        for message in Self.messages {
            var bytes: [UInt8] = []
            message.encode(into: &bytes)
            // Cutting into the data still decodes (data is the rest); cutting before it must fail.
            let dataStart = bytes.count - message.data.count
            for cut in 0..<dataStart {
                let prefix = Array(bytes[0..<cut])
                #expect(throws: ClusterMessage.DecodeError.truncated) { try Self.decode(prefix) }
            }
        }
    }

    @Test("another version and an unknown target are named")
    func foreignBytes() {
        #expect(throws: ClusterMessage.DecodeError.unsupportedVersion(9)) { try Self.decode([9, 0]) }
        #expect(throws: ClusterMessage.DecodeError.unsupportedVersion(1)) { try Self.decode([1, 0, 0, 0]) }
        #expect(throws: ClusterMessage.DecodeError.unknownTarget(7)) { try Self.decode([2, 0, 0] + Array(repeating: 0, count: 8) + [7]) }
    }

    @Test("the publish time survives the wire")
    func sentTime() throws {
        let m = ClusterMessage(origin: "n", target: .all, except: [], command: "c", data: [], dataIsJSON: false, binary: false,
                               sentMicros: 1_764_000_000_123_456)
        var bytes: [UInt8] = []
        m.encode(into: &bytes)
        #expect(try Self.decode(bytes).sentMicros == 1_764_000_000_123_456)
        let now = ClusterMessage(origin: "n", target: .all, except: [], command: "c", data: [], dataIsJSON: false, binary: false)
        #expect(now.sentMicros > 1_764_000_000_000_000, "defaults to the wall clock")
    }
}
