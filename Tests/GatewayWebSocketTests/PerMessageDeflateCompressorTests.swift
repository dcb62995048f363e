import GatewayBuffers
import GatewayWebSocket
import Testing

/// Compresses `message` and returns the frame payload (tail removed).
func deflated(_ message: [UInt8], _ compressor: PerMessageDeflateCompressor) -> [UInt8]? {
    message.withUnsafeBytes { raw in compressor.compress(raw) { Array($0) } }
}

/// Inflates a frame payload (tail appended by the decompressor).
func inflated(_ payload: [UInt8], _ decompressor: PerMessageDeflateDecompressor, limit: Int = 1 << 20) -> Result<[UInt8], WebSocketError> {
    payload.withUnsafeBytes { raw in decompressor.decompress(raw, limit: limit) { Array($0) } }
}

@Suite("permessage-deflate compressor")
struct PerMessageDeflateCompressorTests {
    let json = Array(String(repeating: "{\"cmd\":\"chat.send\",\"data\":{\"room\":\"lobby\",\"text\":\"hello there\"}}", count: 40).utf8)

    @Test("no zlib state until the first message")
    func lazy() throws {
        let c = PerMessageDeflateCompressor()
        #expect(!c.holdsState)
        _ = try #require(deflated(json, c))
        #expect(c.holdsState)
    }

    @Test("the RFC 7692 §7.2.3.1 example: 'Hello' is f2 48 cd c9 c9 07 00, the tail removed")
    func rfcExample() throws {
        let out = try #require(deflated(Array("Hello".utf8), PerMessageDeflateCompressor()))
        #expect(out == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    }

    @Test("without context takeover every message compresses the same, whatever came before")
    func noContextTakeover() throws {
        let c = PerMessageDeflateCompressor(contextTakeover: false)
        let first = try #require(deflated(json, c))
        let second = try #require(deflated(json, c))
        #expect(first == second)
        #expect(first.count < json.count / 10, "repetitive JSON compresses well (\(first.count) of \(json.count))")
        #expect(try inflated(first, PerMessageDeflateDecompressor()).get() == json)
    }

    @Test("with context takeover the second message refers to the first (RFC 7692 §7.2.3.2)")
    func contextTakeover() throws {
        let c = PerMessageDeflateCompressor(contextTakeover: true)
        let hello = Array("Hello".utf8)
        #expect(deflated(hello, c) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        let second = try #require(deflated(hello, c))
        #expect(second.count < 7, "a back-reference into the window: \(hex(second))")
        let d = PerMessageDeflateDecompressor(contextTakeover: true)
        #expect(try inflated([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], d).get() == hello)
        #expect(try inflated(second, d).get() == hello)
    }

    @Test("every window and level round-trips, and a 9-bit window is honoured")
    func windowsAndLevels() throws {
        var rng = TestRandom(seed: 7)
        var message = json
        for _ in 0..<2000 { message.append(UInt8.random(in: 97...100, using: &rng)) }
        for bits in 9...15 {
            for level in [1, 6, 9] {
                let c = PerMessageDeflateCompressor(level: level, windowBits: bits)
                let out = try #require(deflated(message, c))
                #expect(try inflated(out, PerMessageDeflateDecompressor(windowBits: bits)).get() == message, "bits \(bits) level \(level)")
            }
        }
        #expect(PerMessageDeflateCompressor(windowBits: 8).windowBits == 9, "zlib's raw deflate has no 8-bit window")
    }

    @Test("an empty message and an incompressible one survive the trip")
    func edges() throws {
        let c = PerMessageDeflateCompressor()
        let empty = try #require(deflated([], c))
        #expect(try inflated(empty, PerMessageDeflateDecompressor()).get() == [])
        // With context takeover, an empty message after another one: zlib has nothing to flush, and
        // the message is an empty stored block (found by FuzzInflate).
        let ct = PerMessageDeflateCompressor(contextTakeover: true)
        let d = PerMessageDeflateDecompressor(contextTakeover: true)
        for message in [Array("Hello".utf8), [], [], Array("Hello".utf8)] {
            let out = try #require(deflated(message, ct))
            #expect(try inflated(out, d).get() == message)
        }
        var rng = TestRandom(seed: 3)
        let noise = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let out = try #require(deflated(noise, c))
        #expect(try inflated(out, PerMessageDeflateDecompressor()).get() == noise)
    }

    @Test("writeFrame sets RSV1 and masks when asked, and the reader takes it back")
    func frames() throws {
        let c = PerMessageDeflateCompressor()
        var buffer = ByteBuffer()
        let ok = json.withUnsafeBytes { c.writeFrame(opcode: .text, message: $0, maskingKey: rfcKey, into: &buffer) }
        #expect(ok)
        let bytes = buffer.readableArray
        #expect(bytes[0] == 0xC1, "FIN + RSV1 + text")
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20, decompressor: PerMessageDeflateDecompressor())
        #expect(try read([bytes], reader: &reader) == [.text(json)])
    }

    @Test("one output buffer serves several compressors, reused without growing")
    func sharedBuffer() throws {
        let out = PerMessageDeflateBuffer()
        let a = PerMessageDeflateCompressor(level: 1, output: out), b = PerMessageDeflateCompressor(level: 9, output: out)
        _ = try #require(deflated(json, a))
        let capacity = out.capacity
        for _ in 0..<10 {
            _ = try #require(deflated(json, a))
            _ = try #require(deflated(json, b))
        }
        #expect(out.capacity == capacity, "steady state: no regrowth")
    }
}
