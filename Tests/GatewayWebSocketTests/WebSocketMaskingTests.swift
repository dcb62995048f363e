import GatewayWebSocket
import Testing

@Suite struct WebSocketMaskingTests {
    @Test func matchesTheBytewiseDefinitionAtEveryLengthAndOffset() {
        let key: UInt32 = 0x37FA_213D
        let keyBytes: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        for length in 0..<40 {
            for offset in 0..<8 {
                let original = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
                let expected = original.enumerated().map { $0.element ^ keyBytes[($0.offset + offset) % 4] }
                var bytes = original
                bytes.withUnsafeMutableBytes { WebSocketMasking.apply(maskingKey: key, to: $0, offset: offset) }
                #expect(bytes == expected, "length \(length) offset \(offset)")
                bytes.withUnsafeMutableBytes { WebSocketMasking.apply(maskingKey: key, to: $0, offset: offset) }
                #expect(bytes == original)
            }
        }
    }

    @Test func unmaskingThatReportsASCIIUnmasksTheSameAndFindsEveryHighBit() {
        let key: UInt32 = 0x37FA_213D
        let keyBytes: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        for length in 0..<40 {
            // All ASCII, then one byte with the high bit at each position (head words and tail).
            for high in [-1] + Array(0..<length) {
                var plain = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) & 0x7F }
                if high >= 0 { plain[high] |= 0x80 }
                var masked = plain.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
                let ascii = masked.withUnsafeMutableBytes { WebSocketMasking.applyReportingASCII(maskingKey: key, to: $0) }
                #expect(masked == plain, "length \(length) high \(high)")
                #expect(ascii == (high < 0), "length \(length) high \(high)")
            }
        }
    }

    @Test func inPiecesEqualsAtOnce() {
        let original = (0..<100).map { UInt8(truncatingIfNeeded: $0) }
        var whole = original
        whole.withUnsafeMutableBytes { WebSocketMasking.apply(maskingKey: 0xDEAD_BEEF, to: $0) }
        var pieces = original
        pieces.withUnsafeMutableBytes { raw in
            for (start, end) in [(0, 3), (3, 17), (17, 18), (18, 100)] {
                WebSocketMasking.apply(maskingKey: 0xDEAD_BEEF, to: UnsafeMutableRawBufferPointer(rebasing: raw[start..<end]), offset: start)
            }
        }
        #expect(pieces == whole)
    }
}
