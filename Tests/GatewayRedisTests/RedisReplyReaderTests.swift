import GatewayRedis
import Testing

@Suite("RedisReplyReader")
struct RedisReplyReaderTests {
    /// Every reply type, including nested arrays and both kinds of null.
    static let stream = Array((
        "+OK\r\n-ERR bad thing\r\n:-42\r\n$5\r\nhel\r\n\r\n$-1\r\n$0\r\n\r\n*-1\r\n*0\r\n"
        + "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2\r\n:1\r\n$-1\r\n"
    ).utf8)
    static let expected: [RedisReply] = [
        .status("OK"), .error("ERR bad thing"), .integer(-42), .bulk(Array("hel\r\n".utf8)), .bulk(nil),
        .bulk([]), .array(nil), .array([]),
        .array([.bulk(Array("message".utf8)), .bulk(Array("ch".utf8)), .array([.integer(1), .bulk(nil)])]),
    ]

    @Test func readsEveryTypeInOneFeed() throws {
        let r = RedisReplyReader()
        try Self.stream.withUnsafeBytes { try r.feed($0) }
        var got: [RedisReply] = []
        while let reply = try r.next() { got.append(reply) }
        #expect(got == Self.expected)
    }

    @Test func readsTheSameFedByteByByte() throws {
        let r = RedisReplyReader()
        var got: [RedisReply] = []
        for b in Self.stream {
            try [b].withUnsafeBytes { try r.feed($0) }
            while let reply = try r.next() { got.append(reply) }
        }
        #expect(got == Self.expected)
    }

    @Test func readsTheSameAtEverySplitPoint() throws {
        for split in 1..<Self.stream.count {
            let r = RedisReplyReader()
            var got: [RedisReply] = []
            for part in [Self.stream[..<split], Self.stream[split...]] {
                try Array(part).withUnsafeBytes { try r.feed($0) }
                while let reply = try r.next() { got.append(reply) }
            }
            #expect(got == Self.expected, "split at \(split)")
        }
    }

    @Test func incompleteReplyWaits() throws {
        let r = RedisReplyReader()
        try Array("$10\r\n01234".utf8).withUnsafeBytes { try r.feed($0) }
        #expect(try r.next() == nil)
        try Array("56789\r\n".utf8).withUnsafeBytes { try r.feed($0) }
        #expect(try r.next() == .bulk(Array("0123456789".utf8)))
        #expect(try r.next() == nil)
    }

    @Test(arguments: ["?what\r\n", "HTTP/1.1 200 OK\r\n", "+OK\r\n!x\r\n"])
    func garbageIsAProtocolError(text: String) throws {
        let r = RedisReplyReader()
        try Array(text.utf8).withUnsafeBytes { try r.feed($0) }
        var thrown: RedisError?
        do throws(RedisError) {
            while try r.next() != nil {}
        } catch {
            thrown = error
        }
        guard case .protocolError(let message)? = thrown else {
            Issue.record("expected a protocol error, got \(String(describing: thrown))")
            return
        }
        #expect(message.contains("Protocol error"))
        // The reader stays failed: feeding more is refused too.
        #expect(throws: RedisError.self) { try Array("+OK\r\n".utf8).withUnsafeBytes { try r.feed($0) } }
    }

    @Test func garbageFedByteByByteIsAProtocolError() throws {
        let r = RedisReplyReader()
        var failed = false
        for b in Array(":1\r\n@nope\r\n".utf8) where !failed {
            do {
                try [b].withUnsafeBytes { try r.feed($0) }
                while try r.next() != nil {}
            } catch {
                failed = true
            }
        }
        #expect(failed)
    }
}
