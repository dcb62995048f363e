import GatewayBuffers
import Testing

@Suite struct ByteBufferTests {
    @Test func writesAppendInOrder() {
        var b = ByteBuffer()
        [UInt8]("ab".utf8).withUnsafeBytes { b.write($0) }
        b.write(byte: UInt8(ascii: "c"))
        b.write(string: "dé")
        b.write(string: "xfy".dropFirst().dropLast())  // a Substring
        b.write(integer: UInt16(0x4142))
        b.write(decimal: -120)
        b.write(decimal: UInt(0))
        #expect(b.description == "abcdéfAB-1200")
        #expect(b.readableBytes == 14)
    }

    @Test(arguments: [
        (UInt64(0), 2, "00"), (UInt64(0xAB), 2, "ab"), (UInt64(0x1F3), 2, "f3"),
        (UInt64.max, 16, "ffffffffffffffff"), (UInt64(0x0123_4567_89AB_CDEF), 16, "0123456789abcdef"),
        (UInt64(0xDEAD_BEEF), 8, "deadbeef"), (UInt64(5), 0, ""),
    ])
    func hexDigits(value: UInt64, digits: Int, expected: String) {
        var b = ByteBuffer(string: ">")
        b.write(hex: value, digits: digits)
        #expect(b.description == ">" + expected)
    }

    @Test func hexMatchesTheStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<2000 {
            let value: UInt64 = i < 16 ? UInt64(i) << (4 * UInt64(i)) : rng.next()
            let digits = i % 17
            var b = ByteBuffer()
            b.write(hex: value, digits: digits)
            let full = String(value, radix: 16)
            let padded = String(repeating: "0", count: 16 - full.count) + full
            #expect(b.description == String(padded.suffix(digits)), "\(value) \(digits)")
        }
    }

    @Test func headroomPrependAndReaderIndex() {
        var b = ByteBuffer(capacity: 16, headroom: 4)
        b.write(string: "body")
        #expect(b.headroom == 4)
        let ok = [UInt8]("hd".utf8).withUnsafeBytes { b.prepend($0) }
        #expect(ok && b.description == "hdbody" && b.headroom == 2)
        b.moveReaderIndex(forwardBy: 3)
        #expect(b.description == "ody")
        b.moveReaderIndex(forwardBy: 3)
        #expect(b.isEmpty && b.readerIndex == 0, "a drained buffer restarts at 0 instead of growing")
    }

    @Test func largeWritesKeepEveryByte() {
        var b = ByteBuffer()
        let chunk = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for _ in 0..<100 { chunk.withUnsafeBytes { b.write($0) } }
        #expect(b.readableBytes == 100_000)
        #expect(b.readableArray == Array([[UInt8]](repeating: chunk, count: 100).joined()))
    }
}
