import GatewayBuffers
import GatewayRedis
import Testing

@Suite("RedisCommand")
struct RedisCommandTests {
    @Test func encodesArgumentsAsRESP() {
        let c = RedisCommand("SET", "key", "value")
        #expect(String(decoding: c.encoded, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        #expect(c.name == "SET")
    }

    @Test func encodesBinaryAndEmptyArguments() {
        let c = RedisCommand(arguments: [Array("PUBLISH".utf8), [0, 13, 10, 255], []])
        let expected: [UInt8] = Array("*3\r\n$7\r\nPUBLISH\r\n$4\r\n".utf8) + [0, 13, 10, 255]
            + Array("\r\n$0\r\n\r\n".utf8)
        #expect(c.encoded == expected)
    }

    @Test func descriptionHidesArguments() {
        let c = RedisCommand("AUTH", "user", "hunter2")
        #expect(c.description == "AUTH")
    }

    @Test func appendsToAByteBuffer() {
        var b = ByteBuffer(string: "x")
        RedisCommand("PING").write(into: &b)
        #expect(b.readableArray == Array("x*1\r\n$4\r\nPING\r\n".utf8))
    }
}
