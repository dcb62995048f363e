import GatewayBuffers
import GatewayWebSocket
import Testing

private func frame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, key: UInt32? = nil) -> [UInt8] {
    var buffer = ByteBuffer()
    payload.withUnsafeBytes { WebSocketFrameEncoder.writeFrame(opcode: opcode, fin: fin, payload: $0, maskingKey: key, into: &buffer) }
    return buffer.readableArray
}

@Suite struct WebSocketFrameEncoderTests {
    @Test(arguments: [(0, 2), (1, 2), (125, 2), (126, 4), (127, 4), (65535, 4), (65536, 10), (1 << 40, 10)])
    func headerSizes(length: Int, size: Int) {
        #expect(WebSocketFrameEncoder.headerSize(payloadLength: length, masked: false) == size)
        #expect(WebSocketFrameEncoder.headerSize(payloadLength: length, masked: true) == size + 4)
    }

    @Test(arguments: [0, 125, 126, 65535, 65536])
    func headersParseBack(length: Int) throws {
        for key: UInt32? in [nil, 0xDEAD_BEEF] {
            var buffer = ByteBuffer()
            WebSocketFrameEncoder.writeHeader(fin: false, opcode: .binary, payloadLength: length, maskingKey: key, into: &buffer)
            #expect(buffer.readableBytes == WebSocketFrameEncoder.headerSize(payloadLength: length, masked: key != nil))
            let parsed = try buffer.withUnsafeReadableBytes { try WebSocketFrameHeader.parse($0, requireMasked: false) }
            let expected = WebSocketFrameHeader(fin: false, opcode: .binary, maskingKey: key, payloadLength: length)
            #expect(parsed == .complete(expected, headerSize: buffer.readableBytes))
            #expect(expected.encodedSize == buffer.readableBytes)
        }
    }

    @Test func rfcExamples() {
        // RFC 6455 §5.7.
        #expect(frame(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(frame(.text, Array("Hello".utf8), key: 0x37FA_213D) == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        #expect(frame(.text, Array("Hel".utf8), fin: false) == [0x01, 0x03, 0x48, 0x65, 0x6C])
        #expect(frame(.continuation, Array("lo".utf8)) == [0x80, 0x02, 0x6C, 0x6F])
        #expect(frame(.ping, Array("Hello".utf8)) == [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(Array(frame(.binary, [UInt8](repeating: 0, count: 256)).prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(Array(frame(.binary, [UInt8](repeating: 0, count: 65536)).prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test(arguments: [0, 1, 7, 8, 125, 126, 1000, 65535, 65536, 70_001])
    func roundTripThroughTheReader(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ 1) }
        let text = (0..<length).map { UInt8(0x41 + $0 % 26) }
        let bytes = frame(.binary, payload, key: 0x0102_0304) + frame(.text, text, key: 0xA5A5_5A5A)
        #expect(try read([bytes], maxMessageBytes: 1 << 20) == [.binary(payload), .text(text)])
    }

    @Test func closeFrame() throws {
        var buffer = ByteBuffer()
        WebSocketFrameEncoder.writeClose(code: .goingAway, reason: "bye", into: &buffer)
        #expect(buffer.readableArray == [0x88, 0x05, 0x03, 0xE9, 0x62, 0x79, 0x65])

        var masked = ByteBuffer()
        WebSocketFrameEncoder.writeClose(code: .normalClosure, reason: "done", maskingKey: rfcKey, into: &masked)
        #expect(try read([masked.readableArray]) == [.close(1000, Array("done".utf8))])
    }

    @Test func closeReasonIsTruncatedAtACharacterBoundary() throws {
        for reason in [String(repeating: "a", count: 200), String(repeating: "é", count: 100), String(repeating: "€", count: 60), String(repeating: "𝄞", count: 40), "ab" + String(repeating: "€", count: 60)] {
            var buffer = ByteBuffer()
            WebSocketFrameEncoder.writeClose(code: .normalClosure, reason: reason, maskingKey: rfcKey, into: &buffer)
            let events = try read([buffer.readableArray])
            guard case .close(1000, let bytes) = events.first else {
                Issue.record("no close event")
                continue
            }
            #expect(bytes.count <= 123 && bytes.count > 119)
            #expect(reason.utf8.starts(with: bytes))
        }
    }

    @Test func codesThatMustNotBeSentGiveAnEmptyClose() {
        for code in [WebSocketCloseCode.noStatus, .abnormal, WebSocketCloseCode(rawValue: 1015)] {
            var buffer = ByteBuffer()
            WebSocketFrameEncoder.writeClose(code: code, reason: "ignored", into: &buffer)
            #expect(buffer.readableArray == [0x88, 0x00])
        }
    }

    @Test(arguments: [0, 5, 125, 126, 300, 65535, 65536])
    func prependHeaderIntoHeadroom(length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        var buffer = ByteBuffer(capacity: length, headroom: WebSocketFrameEncoder.maxHeaderSize)
        buffer.write(contentsOf: payload)
        #expect(WebSocketFrameEncoder.prependHeader(opcode: .binary, to: &buffer))
        #expect(buffer.readableArray == frame(.binary, payload))
    }

    @Test func prependHeaderFailsWithoutEnoughHeadroom() {
        var buffer = ByteBuffer(headroom: 2)
        buffer.write(contentsOf: [UInt8](repeating: 1, count: 300))
        let before = buffer
        #expect(!WebSocketFrameEncoder.prependHeader(opcode: .text, to: &buffer))
        #expect(buffer == before)
        #expect(buffer.headroom == 2)
    }
}
