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

@Suite struct Base64URLDecodeTests {
    /// Decodes `text` with a buffer of exactly `decodedCapacity`, or `room` bytes when given.
    func decode(_ text: String, room: Int? = nil) -> [UInt8]? {
        let input = Array(text.utf8)
        var out = [UInt8](repeating: 0xEE, count: room ?? Base64.decodedCapacity(ofURL: input.count))
        let n = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { Base64.decodeURL(i, into: $0) } }
        return n.map { Array(out.prefix($0)) }
    }

    /// base64url of `bytes` without padding, from the standard encoder.
    func url(_ bytes: [UInt8]) -> String {
        String(Base64.encode(bytes).compactMap { c -> Character? in
            switch c {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: c
            }
        })
    }

    @Test func roundTripsEveryLengthWithAndWithoutPadding() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = url(bytes)
            #expect(decode(text) == bytes, "length \(length)")
            let padded = text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
            #expect(decode(padded) == bytes, "padded, length \(length)")
        }
        #expect(decode("") == [])
        #expect(decode("-_8") == [0xFB, 0xFF])
        #expect(decode("AQID") == [1, 2, 3])
    }

    @Test func toleratesPaddingAnywhereAsTheVerifierAlwaysHas() {
        #expect(decode("e30=") == Array("{}".utf8))
        #expect(decode("e3=0") == Array("{}".utf8))
        #expect(decode("AQID====AQID") == [1, 2, 3, 1, 2, 3])
    }

    @Test(arguments: ["a+b/", "e30.", "e 30", "AQID!AQI", "é30", "AQIDAQID\n", "AQ\u{0}D"])
    func refusesCharactersOutsideTheURLAlphabet(_ text: String) {
        #expect(decode(text) == nil)
    }

    @Test(arguments: ["a", "AQIDa", "AQIDAQIDa", "a===", "AQID=a"])
    func refusesALengthOfOneModFour(_ text: String) {
        #expect(decode(text) == nil, "a last character alone carries no whole byte")
    }

    @Test func refusesAnOutputBufferBelowTheCapacity() {
        #expect(decode("AQID", room: Base64.decodedCapacity(ofURL: 4) - 1) == nil)
        #expect(decode("AQID", room: Base64.decodedCapacity(ofURL: 4)) == [1, 2, 3])
    }
}
