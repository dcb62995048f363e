import GatewayBuffers
import GatewayWebSocket
import Testing

/// A masked client frame with RSV1 as given and a payload compressed by `compressor` (or raw bytes).
func compressedFrame(_ opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, rsv1: Bool = true) -> [UInt8] {
    var b = ByteBuffer()
    payload.withUnsafeBytes {
        WebSocketFrameEncoder.writeFrame(opcode: opcode, fin: fin, rsv1: rsv1, payload: $0, maskingKey: rfcKey, into: &b)
    }
    return b.readableArray
}

@Suite("frame reader with permessage-deflate")
struct WebSocketFrameReaderDeflateTests {
    let message = Array(String(repeating: "compress me, please; ", count: 200).utf8)

    func reader(limit: Int = 1 << 20) -> WebSocketFrameReader {
        WebSocketFrameReader(maxMessageBytes: limit, decompressor: PerMessageDeflateDecompressor())
    }

    @Test("a compressed message is inflated; an uncompressed one on the same connection is not")
    func mixed() throws {
        let payload = try #require(deflated(message, PerMessageDeflateCompressor()))
        var r = reader()
        let events = try read([compressedFrame(.text, payload: payload), clientFrame(.text, "plain"),
                               compressedFrame(.binary, payload: payload)], reader: &r)
        #expect(events == [.text(message), .text("plain"), .binary(message)])
    }

    @Test("fragments joined then inflated, with control frames between them, split at every byte")
    func fragmented() throws {
        let payload = try #require(deflated(message, PerMessageDeflateCompressor()))
        let third = payload.count / 3
        let stream = compressedFrame(.text, payload: Array(payload[..<third]), fin: false)
            + clientFrame(.ping, "p1")
            + compressedFrame(.continuation, payload: Array(payload[third..<(2 * third)]), fin: false, rsv1: false)
            + clientFrame(.pong, "p2")
            + compressedFrame(.continuation, payload: Array(payload[(2 * third)...]), rsv1: false)
        for split in stride(from: 1, to: stream.count, by: 7) {
            var r = reader()
            let events = try read([Array(stream[..<split]), Array(stream[split...])], reader: &r)
            #expect(events == [.ping(Array("p1".utf8)), .pong(Array("p2".utf8)), .text(message)], "split at \(split)")
        }
    }

    @Test("RSV1 without a negotiated extension, on a continuation, or on a control frame: 1002")
    func misplacedRSV1() throws {
        let payload = try #require(deflated(message, PerMessageDeflateCompressor()))
        #expect(readError([compressedFrame(.text, payload: payload)]) == .reservedBitsSet(0x40))
        var r = reader()
        #expect(throws: WebSocketError.misplacedCompressionBit(.continuation)) {
            try read([compressedFrame(.text, payload: Array(payload.prefix(4)), fin: false),
                      compressedFrame(.continuation, payload: Array(payload.dropFirst(4)))], reader: &r)
        }
        r = reader()
        #expect(throws: WebSocketError.misplacedCompressionBit(.ping)) { try read([compressedFrame(.ping, payload: [1])], reader: &r) }
        #expect(WebSocketError.misplacedCompressionBit(.ping).closeCode == .protocolError)
        r = reader()
        #expect(throws: WebSocketError.reservedBitsSet(0x20)) { try read([rawFrame(first: 0xE1, payload: [1])], reader: &r) }
    }

    @Test("invalid UTF-8 inside compressed text is 1007, checked after inflating")
    func utf8() throws {
        let payload = try #require(deflated([0x61, 0xC0, 0x80, 0x62], PerMessageDeflateCompressor()))
        var r = reader()
        #expect(throws: WebSocketError.invalidUTF8) { try read([compressedFrame(.text, payload: payload)], reader: &r) }
        r = reader()
        #expect(try read([compressedFrame(.binary, payload: payload)], reader: &r) == [.binary([0x61, 0xC0, 0x80, 0x62])])
    }

    @Test("a bomb closes with 1009 while inflating; garbage with 1007")
    func limits() throws {
        let bomb = try #require(deflated([UInt8](repeating: 0, count: 4 << 20), PerMessageDeflateCompressor()))
        var r = reader(limit: 1 << 20)
        #expect(throws: WebSocketError.inflatedMessageTooBig(limit: 1 << 20)) { try read([compressedFrame(.binary, payload: bomb)], reader: &r) }
        r = reader()
        #expect(throws: WebSocketError.invalidCompressedData) { try read([compressedFrame(.binary, payload: [0xFF, 0xEE, 0xDD])], reader: &r) }
    }

    @Test("one shared decompressor serves two connections whose fragmented messages interleave")
    func sharedAcrossConnections() throws {
        let shared = PerMessageDeflateDecompressor()
        var a = WebSocketFrameReader(maxMessageBytes: 1 << 20, decompressor: shared)
        var b = WebSocketFrameReader(maxMessageBytes: 1 << 20, decompressor: shared)
        let other = Array(String(repeating: "another message ", count: 100).utf8)
        let pa = try #require(deflated(message, PerMessageDeflateCompressor()))
        let pb = try #require(deflated(other, PerMessageDeflateCompressor()))
        #expect(try read([compressedFrame(.text, payload: Array(pa.prefix(10)), fin: false)], reader: &a) == [])
        #expect(try read([compressedFrame(.text, payload: Array(pb.prefix(10)), fin: false)], reader: &b) == [])
        #expect(try read([compressedFrame(.continuation, payload: Array(pa.dropFirst(10)), rsv1: false)], reader: &a) == [.text(message)])
        #expect(try read([compressedFrame(.continuation, payload: Array(pb.dropFirst(10)), rsv1: false)], reader: &b) == [.text(other)])
    }
}
