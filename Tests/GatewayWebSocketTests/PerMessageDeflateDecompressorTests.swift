import GatewayBuffers
import GatewayWebSocket
import Testing

@Suite("permessage-deflate decompressor")
struct PerMessageDeflateDecompressorTests {
    @Test("RFC 7692 §7.2.3: a stored block, a final block, and the tail appended by the receiver")
    func rfcExamples() throws {
        let d = PerMessageDeflateDecompressor()
        #expect(!d.holdsState)
        #expect(try inflated([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == Array("Hello".utf8))
        #expect(d.holdsState)
        // §7.2.3.3: no compression (a stored block).
        #expect(try inflated([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00], d).get() == Array("Hello".utf8))
        // §7.2.3.4: BFINAL set; what follows the final block is ignored.
        #expect(try inflated([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == Array("Hello".utf8))
        #expect(try inflated([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00], d).get() == Array("Hello".utf8))
        // The stream was reset: the next message inflates on its own.
        #expect(try inflated([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == Array("Hello".utf8))
    }

    @Test("with context takeover the window survives a final block")
    func windowAfterFinalBlock() throws {
        let c = PerMessageDeflateCompressor(contextTakeover: true)
        let hello = Array("Hello".utf8)
        let d = PerMessageDeflateDecompressor(contextTakeover: true)
        #expect(try inflated([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == hello)
        _ = deflated(hello, c)
        let second = try #require(deflated(hello, c))
        #expect(try inflated(second, d).get() == hello, "the back-reference resolves against the first message")
    }

    @Test("invalid deflate data is 1007, and the decompressor goes on serving")
    func invalid() throws {
        let d = PerMessageDeflateDecompressor()
        #expect(throws: WebSocketError.invalidCompressedData) { try inflated([0xFF, 0xFF, 0xFF, 0xFF], d).get() }
        #expect(WebSocketError.invalidCompressedData.closeCode == .invalidPayload)
        #expect(try inflated([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == Array("Hello".utf8))
    }

    @Test("a deflate bomb stops at the limit: 1009, the output never past limit + 1 bytes")
    func bomb() throws {
        // 64 MiB of zeros compresses to about 64 KiB.
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let bomb = try #require(deflated(zeros, PerMessageDeflateCompressor(level: 9)))
        #expect(bomb.count < 100_000)
        let out = PerMessageDeflateBuffer(retainedCapacity: 1 << 30)
        let d = PerMessageDeflateDecompressor(output: out)
        let limit = 1 << 20
        #expect(throws: WebSocketError.inflatedMessageTooBig(limit: limit)) { try inflated(bomb, d, limit: limit).get() }
        #expect(out.capacity <= limit + 1 + 256, "bounded by the limit, not by the 64 MiB: \(out.capacity)")
        #expect(WebSocketError.inflatedMessageTooBig(limit: limit).closeCode == .messageTooBig)
    }

    @Test("a message exactly at the limit passes; one byte more does not")
    func exactLimit() throws {
        let message = [UInt8](repeating: 0x61, count: 50_000)
        let payload = try #require(deflated(message, PerMessageDeflateCompressor()))
        let d = PerMessageDeflateDecompressor()
        #expect(try inflated(payload, d, limit: 50_000).get() == message)
        #expect(throws: WebSocketError.inflatedMessageTooBig(limit: 49_999)) { try inflated(payload, d, limit: 49_999).get() }
    }

    @Test("the output buffer keeps its capacity for the next message, and frees a big one")
    func retained() throws {
        let out = PerMessageDeflateBuffer(retainedCapacity: 64 * 1024)
        let d = PerMessageDeflateDecompressor(output: out)
        let small = try #require(deflated([UInt8](repeating: 1, count: 1000), PerMessageDeflateCompressor()))
        _ = try inflated(small, d).get()
        let kept = out.capacity
        #expect(kept > 0 && kept <= 64 * 1024)
        _ = try inflated(small, d).get()
        #expect(out.capacity == kept)
        let big = try #require(deflated([UInt8](repeating: 1, count: 500_000), PerMessageDeflateCompressor()))
        _ = try inflated(big, d).get()
        #expect(out.capacity == 0, "grown past retainedCapacity for one message: freed")
    }
}
