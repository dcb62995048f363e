import GatewayWebSocket
import Testing

private func parse(_ bytes: [UInt8], requireMasked: Bool = true) throws(WebSocketError) -> WebSocketFrameHeader.ParseResult {
    let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { raw.deallocate() }
    raw.copyBytes(from: bytes)
    return try WebSocketFrameHeader.parse(UnsafeRawBufferPointer(raw), requireMasked: requireMasked)
}

@Suite struct WebSocketFrameHeaderTests {
    @Test func incompleteHeadersAskForTheNextStage() throws {
        let bytes: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0xA, 0xB, 0xC, 0xD]
        #expect(try parse([]) == .incomplete(minimumBytes: 2))
        #expect(try parse(Array(bytes.prefix(1))) == .incomplete(minimumBytes: 2))
        for count in 2..<10 {
            #expect(try parse(Array(bytes.prefix(count))) == .incomplete(minimumBytes: 10))
        }
        for count in 10..<14 {
            #expect(try parse(Array(bytes.prefix(count))) == .incomplete(minimumBytes: 14))
        }
        #expect(try parse([0x82, 0xFE, 0x01]) == .incomplete(minimumBytes: 4))
        #expect(try parse([0x82, 0xFE, 0x01, 0x00]) == .incomplete(minimumBytes: 8))
        #expect(try parse([0x82, 0x85]) == .incomplete(minimumBytes: 6))
        let header = WebSocketFrameHeader(opcode: .binary, maskingKey: 0x0A0B_0C0D, payloadLength: 65536)
        #expect(try parse(bytes) == .complete(header, headerSize: 14))
        #expect(header.masked && !header.rsv1 && !header.rsv2 && !header.rsv3)
    }

    @Test func firstByteFailsBeforeTheSecondArrives() {
        #expect(throws: WebSocketError.reservedOpcode(3)) { try parse([0x83]) }
        #expect(throws: WebSocketError.reservedBitsSet(0x40)) { try parse([0xC1]) }
        #expect(throws: WebSocketError.fragmentedControlFrame(.pong)) { try parse([0x0A]) }
    }

    @Test func lengthFailsBeforeTheMaskArrives() {
        #expect(throws: WebSocketError.payloadLengthOverflow) { try parse([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: WebSocketError.controlFrameTooLong) { try parse([0x89, 0xFE]) }
    }

    @Test func maskIsOptionalWhenNotRequired() throws {
        #expect(throws: WebSocketError.unmaskedFrame) { try parse([0x81, 0x00]) }
        #expect(try parse([0x81, 0x00], requireMasked: false) == .complete(WebSocketFrameHeader(opcode: .text, payloadLength: 0), headerSize: 2))
    }
}
