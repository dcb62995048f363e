import GatewayWebSocket
import Testing

/// Every way the reader fails a connection, with the close code it maps to.
struct ErrorCase: CustomStringConvertible {
    var name: String
    var chunks: [[UInt8]]
    var error: WebSocketError
    var code: UInt16
    var maxMessageBytes = 1000
    var description: String { name }
}

private func closeFrame(code: UInt16, reason: [UInt8] = []) -> [UInt8] {
    clientFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
}

let errorCases: [ErrorCase] = {
    var cases: [ErrorCase] = [
        ErrorCase(name: "unmasked frame", chunks: [rawFrame(first: 0x81, payload: [0x61], key: nil)], error: .unmaskedFrame, code: 1002),
        ErrorCase(name: "RSV1", chunks: [rawFrame(first: 0xC1, payload: [0x61])], error: .reservedBitsSet(0x40), code: 1002),
        ErrorCase(name: "RSV2", chunks: [rawFrame(first: 0xA1, payload: [0x61])], error: .reservedBitsSet(0x20), code: 1002),
        ErrorCase(name: "RSV3", chunks: [rawFrame(first: 0x91, payload: [0x61])], error: .reservedBitsSet(0x10), code: 1002),
        ErrorCase(name: "fragmented ping", chunks: [rawFrame(first: 0x09, payload: [])], error: .fragmentedControlFrame(.ping), code: 1002),
        ErrorCase(name: "fragmented close", chunks: [rawFrame(first: 0x08, payload: [])], error: .fragmentedControlFrame(.close), code: 1002),
        ErrorCase(
            name: "ping with 126-byte payload", chunks: [clientFrame(.ping, Array(repeating: 0, count: 126))], error: .controlFrameTooLong,
            code: 1002),
        ErrorCase(name: "continuation first", chunks: [clientFrame(.continuation, "a")], error: .unexpectedContinuation, code: 1002),
        ErrorCase(
            name: "text while fragmented", chunks: [clientFrame(.text, "a", fin: false) + clientFrame(.text, "b")],
            error: .newMessageDuringFragmentedMessage(.text), code: 1002),
        ErrorCase(
            name: "binary while fragmented", chunks: [clientFrame(.binary, [1], fin: false) + clientFrame(.binary, [2])],
            error: .newMessageDuringFragmentedMessage(.binary), code: 1002),
        ErrorCase(name: "close with 1-byte payload", chunks: [clientFrame(.close, [0x03])], error: .closePayloadTooShort, code: 1002),
        ErrorCase(
            name: "close reason not UTF-8", chunks: [closeFrame(code: 1000, reason: [0x61, 0xC0, 0xAF])], error: .invalidCloseReason, code: 1007),
        ErrorCase(name: "text not UTF-8", chunks: [clientFrame(.text, [0x61, 0xFF])], error: .invalidUTF8, code: 1007),
        ErrorCase(name: "text ends mid-character", chunks: [clientFrame(.text, [0xE2, 0x82])], error: .invalidUTF8, code: 1007),
        ErrorCase(
            name: "fragmented text ends mid-character",
            chunks: [clientFrame(.text, [0x61, 0xF0, 0x9D], fin: false) + clientFrame(.continuation, [0x84])], error: .invalidUTF8, code: 1007),
        // Fail fast: only the first fragment is ever sent, and it already cannot be valid.
        ErrorCase(name: "first fragment overlong", chunks: [clientFrame(.text, [0x61, 0xC0, 0x80], fin: false)], error: .invalidUTF8, code: 1007),
        ErrorCase(name: "first fragment surrogate", chunks: [clientFrame(.text, [0x61, 0xED, 0xA0], fin: false)], error: .invalidUTF8, code: 1007),
        ErrorCase(
            name: "second fragment beyond U+10FFFF", chunks: [clientFrame(.text, [0xF4], fin: false) + clientFrame(.continuation, [0x90], fin: false)],
            error: .invalidUTF8, code: 1007),
        // Too big: only the header is sent, the payload never arrives.
        ErrorCase(
            name: "frame too big by its header", chunks: [Array(clientFrame(.binary, Array(repeating: 0, count: 1001)).prefix(8))],
            error: .messageTooBig(length: 1001, limit: 1000), code: 1009),
        ErrorCase(
            name: "frame too big by a 64-bit header", chunks: [[0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]],
            error: .messageTooBig(length: 1 << 32, limit: 1000), code: 1009),
        ErrorCase(
            name: "text too big by its header", chunks: [Array(clientFrame(.text, Array(repeating: 0x61, count: 5000)).prefix(8))],
            error: .messageTooBig(length: 5000, limit: 1000), code: 1009),
        ErrorCase(
            name: "too big by accumulated fragments",
            chunks: [clientFrame(.binary, Array(repeating: 0, count: 600), fin: false) + Array(clientFrame(.continuation, Array(repeating: 0, count: 600)).prefix(8))],
            error: .messageTooBig(length: 1200, limit: 1000), code: 1009),
        ErrorCase(
            name: "64-bit length with MSB set", chunks: [[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]], error: .payloadLengthOverflow, code: 1002),
    ]
    for opcode: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
        cases.append(ErrorCase(name: "reserved opcode \(opcode)", chunks: [rawFrame(first: 0x80 | opcode, payload: [])], error: .reservedOpcode(opcode), code: 1002))
    }
    for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        cases.append(ErrorCase(name: "close code \(code)", chunks: [closeFrame(code: code)], error: .invalidCloseCode(code), code: 1002))
    }
    return cases
}()

@Suite struct WebSocketErrorTests {
    @Test(arguments: errorCases)
    func failsWithItsCloseCode(_ errorCase: ErrorCase) {
        let error = readError(errorCase.chunks, maxMessageBytes: errorCase.maxMessageBytes)
        #expect(error == errorCase.error)
        #expect(error?.closeCode.rawValue == errorCase.code)
    }

    @Test(arguments: errorCases)
    func failsTheSameWayByteByByte(_ errorCase: ErrorCase) {
        let bytes = errorCase.chunks.flatMap { $0 }.map { [$0] }
        #expect(readError(bytes, maxMessageBytes: errorCase.maxMessageBytes) == errorCase.error)
    }

    @Test func validCloseCodesAreAccepted() throws {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            #expect(try read([closeFrame(code: code, reason: Array("ok".utf8))]) == [.close(code, Array("ok".utf8))])
        }
    }

    @Test func eventsBeforeTheErrorAreDelivered() {
        var reader = WebSocketFrameReader(maxMessageBytes: 1000)
        var events: [Event] = []
        var input = clientFrame(.text, "fine") + clientFrame(.continuation, "bad")
        let error = input.withUnsafeMutableBytes { raw -> WebSocketError? in
            do {
                try reader.feed(raw) { event in
                    events.append(Event(event))
                    return .proceed
                }
                return nil
            } catch {
                return error as? WebSocketError
            }
        }
        #expect(events == [.text("fine")])
        #expect(error == .unexpectedContinuation)
    }

    @Test func errorIsSticky() {
        var reader = WebSocketFrameReader(maxMessageBytes: 1000)
        #expect(throws: WebSocketError.unmaskedFrame) { try read([rawFrame(first: 0x81, payload: [], key: nil)], reader: &reader) }
        #expect(throws: WebSocketError.unmaskedFrame) { try read([clientFrame(.text, "valid")], reader: &reader) }
        #expect(throws: WebSocketError.unmaskedFrame) { try reader.resume { _ in .proceed } }
        #expect(!reader.hasBufferedInput)
        #expect(reader.allocatedBytes == 0)
    }

    @Test func errorAfterAPartialFrameReleasesBuffers() {
        var reader = WebSocketFrameReader(maxMessageBytes: 1000)
        let first = clientFrame(.binary, Array(repeating: 0, count: 500), fin: false)
        #expect(throws: Never.self) { try read([Array(first.prefix(300))], reader: &reader) }
        #expect(reader.hasBufferedInput)
        #expect(throws: WebSocketError.reservedOpcode(3)) { try read([Array(first.dropFirst(300)) + [0x83, 0x80]], reader: &reader) }
        #expect(reader.allocatedBytes == 0)
    }

    @Test func descriptionsAreNotEmpty() {
        for errorCase in errorCases { #expect(!errorCase.error.description.isEmpty) }
        #expect(WebSocketError.messageTooBig(length: 5, limit: 4).description == "message of 5 bytes exceeds the limit of 4")
    }
}
