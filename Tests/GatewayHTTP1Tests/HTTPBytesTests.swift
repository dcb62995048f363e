@testable import GatewayHTTP1
import Testing

@Suite("HTTPBytes")
struct HTTPBytesTests {
    @Test("the tchar bitmap matches RFC 9110 §5.6.2 for every byte")
    func tokenTable() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTPBytes.isToken(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    @Test("field value bytes: HTAB, SP, VCHAR and obs-text only")
    func fieldValueBytes() {
        for byte in UInt8.min...UInt8.max {
            let allowed = byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
            #expect(HTTPBytes.isFieldValueByte(byte) == allowed, "byte \(byte)")
        }
    }

    @Test("the word-at-a-time value check agrees with the byte check at every position")
    func fieldValueWords() {
        let interesting: [UInt8] = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0xFF]
        for length in 1...24 {
            for position in 0..<length {
                for byte in interesting {
                    var value = [UInt8](repeating: UInt8(ascii: "v"), count: length)
                    value[position] = byte
                    let expected = value.allSatisfy(HTTPBytes.isFieldValueByte)
                    value.withUnsafeBytes { raw in
                        #expect(HTTPBytes.isValidFieldValue(raw) == expected, "length \(length) position \(position) byte \(byte)")
                    }
                }
            }
        }
        // Bytes just above each threshold next to each other, where a borrow could mislead.
        [UInt8](repeating: 0x20, count: 16).withUnsafeBytes { #expect(HTTPBytes.isValidFieldValue($0)) }
        [UInt8](repeating: 0x80, count: 16).withUnsafeBytes { #expect(HTTPBytes.isValidFieldValue($0)) }
        [UInt8]().withUnsafeBytes { #expect(HTTPBytes.isValidFieldValue($0)) }
    }

    @Test("firstLF finds the first LF at or after the start")
    func firstLF() {
        Array("ab\ncd\n".utf8).withUnsafeBytes { raw in
            #expect(HTTPBytes.firstLF(in: raw, from: 0) == 2)
            #expect(HTTPBytes.firstLF(in: raw, from: 3) == 5)
            #expect(HTTPBytes.firstLF(in: raw, from: 6) == nil)
        }
        [UInt8]().withUnsafeBytes { #expect(HTTPBytes.firstLF(in: $0, from: 0) == nil) }
    }
}
