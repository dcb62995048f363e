import GatewayWebSocket
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(input: String, encoded: String) {
        #expect(Base64.encode(Array(input.utf8)) == encoded)
        #expect(Base64.decodedCount(encoded) == input.utf8.count)
    }

    @Test func encodesEveryByteValue() {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64.encode(bytes)
        #expect(encoded.hasPrefix("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"))
        #expect(encoded.hasSuffix("8/T19vf4+fr7/P3+/w=="))
        #expect(Base64.decodedCount(encoded) == 256)
    }

    @Test(arguments: ["Zg=", "Z===", "====", "Zm9v!A==", "=Zm9", "Zm=v", "Zm9vYg=a", "Zm 9v", "dGhlIHNhbXBsZSBub25jZQ"])
    func rejectsMalformed(_ text: String) {
        #expect(Base64.decodedCount(text) == nil)
    }

    @Test func sixteenByteKeys() {
        #expect(Base64.decodedCount("dGhlIHNhbXBsZSBub25jZQ==") == 16)
        #expect(Base64.decodedCount(Base64.encode([UInt8](repeating: 0xFF, count: 16))) == 16)
        #expect(Base64.decodedCount(Base64.encode([UInt8](repeating: 0, count: 15))) == 15)
    }
}
