import GatewayBuffers
import GatewayJSON
import Testing

/// `JSONWriter.writeString(_:into:)` into a fresh buffer.
private func written(_ s: some StringProtocol) -> [UInt8] {
    var buffer = ByteBuffer()
    JSONWriter.writeString(s, into: &buffer)
    return contents(of: buffer)
}

/// `JSONWriter.writeString(bytes:into:)` into a fresh buffer.
private func written(bytes input: [UInt8]) -> [UInt8] {
    var buffer = ByteBuffer()
    input.withUnsafeBytes { JSONWriter.writeString(bytes: $0, into: &buffer) }
    return contents(of: buffer)
}

/// `JSONWriter.write(_:into:)` as text.
private func written(_ value: JSONValue) -> String {
    var buffer = ByteBuffer()
    JSONWriter.write(value, into: &buffer)
    return String(decoding: contents(of: buffer), as: UTF8.self)
}

@Suite struct JSONWriterTests {
    @Test func escapesOnlyWhatJSONRequires() {
        let cases: [(String, String)] = [
            ("", #""""#),
            ("plain", #""plain""#),
            ("a\"b", #""a\"b""#),
            ("a\\b", #""a\\b""#),
            ("/ and '", #""/ and '""#),
            ("\u{08}\u{0C}\n\r\t", #""\b\f\n\r\t""#),
            ("\u{0}", #""\u0000""#),
            ("\u{1}\u{1A}\u{1F}", #""\u0001\u001a\u001f""#),
            ("\u{7F}", "\"\u{7F}\""),
            ("é€😀\u{10FFFF}", "\"é€😀\u{10FFFF}\""),
            ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
            ("0123456789abcdef\"0123456789\n", #""0123456789abcdef\"0123456789\n""#),
            ("abcdefgh\\", #""abcdefgh\\""#),
            ("abcdefghé", "\"abcdefghé\""),
            ("abcdefg\u{1}", #""abcdefg\u0001""#),
        ]
        for (input, expected) in cases {
            #expect(written(input) == bytes(expected), "\(input.debugDescription)")
            #expect(written(bytes: bytes(input)) == bytes(expected), "\(input.debugDescription)")
        }
    }

    @Test func everyControlCharacterRoundTrips() throws {
        for code in UInt8(0)...UInt8(0x7F) {
            let s = "x" + String(Character(Unicode.Scalar(code))) + "y"
            let out = written(s)
            #expect(isValid(out), "\(code)")
            #expect(try parse(out).get() == .string(s), "\(code)")
            if code < 0x20 { #expect(!out.contains(code), "raw control byte \(code) in output") }
        }
    }

    @Test func substringsAndNonContiguousStrings() {
        let text = "skip:\"value\"\n"
        let sub = text[text.index(text.startIndex, offsetBy: 5)...]
        #expect(written(sub) == bytes(#""\"value\"\n""#))
    }

    @Test func appendsToExistingContent() {
        var buffer = ByteBuffer(string: "[")
        JSONWriter.writeString("a", into: &buffer)
        buffer.write(byte: UInt8(ascii: ","))
        [UInt8(0xFF)].withUnsafeBytes { JSONWriter.writeString(bytes: $0, into: &buffer) }
        buffer.write(byte: UInt8(ascii: "]"))
        #expect(contents(of: buffer) == bytes("[\"a\",\"\u{FFFD}\"]"))
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let r = "\u{FFFD}"
        let cases: [([UInt8], String)] = [
            ([0xFF], r),
            ([0xFE, 0xFF], r + r),
            ([0x80], r),
            ([0x61, 0xBF, 0x62], "a" + r + "b"),
            ([0xC3], r),
            ([0xC3, 0x41], r + "A"),
            ([0xC0, 0x80], r + r),
            ([0xC1, 0xBF], r + r),
            ([0xE0, 0x80, 0x80], r + r + r),
            ([0xE2, 0x82], r),
            ([0xE2, 0x82, 0x41], r + "A"),
            ([0xE2, 0x82, 0xAC], "€"),
            ([0xED, 0xA0, 0x80], r + r + r),
            ([0xED, 0x9F, 0xBF], "\u{D7FF}"),
            ([0xF0, 0x9F, 0x98], r),
            ([0xF0, 0x9F, 0x98, 0x80], "😀"),
            ([0xF0, 0x8F, 0xBF, 0xBF], r + r + r + r),
            ([0xF4, 0x90, 0x80, 0x80], r + r + r + r),
            ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
            ([0xF5, 0x80], r + r),
            ([0x0A, 0xFF, 0x22], "\n" + r + "\""),
            (bytes("abcdefgh") + [0xE2, 0x82] + bytes("ijklmnop\\"), "abcdefgh" + r + "ijklmnop\\"),
        ]
        for (input, expected) in cases {
            let out = written(bytes: input)
            #expect(isValid(out), "\(show(input)) → \(show(out))")
            #expect(String(validating: out, as: UTF8.self) != nil)
            #expect(parse(out).success == .string(expected), "\(show(input)) → \(show(out))")
            // Same replacement policy as the standard library (maximal subparts).
            #expect(expected == String(decoding: input, as: UTF8.self), "\(show(input))")
        }
    }

    @Test func randomBytesAlwaysGiveValidJSON() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let interesting: [UInt8] = [0x00, 0x0A, 0x1F, 0x22, 0x5C, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<3_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let input: [UInt8] = (0..<count).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng) ?? 0 : UInt8.random(in: 0...255, using: &rng)
            }
            let out = written(bytes: input)
            #expect(isValid(out), "\(show(input)) → \(show(out))")
            #expect(String(validating: out, as: UTF8.self) != nil)
            #expect(try parse(out).get() == .string(String(decoding: input, as: UTF8.self)), "\(show(input))")
        }
    }

    @Test func randomStringsRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED_0002)
        let ranges: [ClosedRange<UInt32>] = [0...0x7F, 0...0x1F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        for _ in 0..<2_000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...24, using: &rng) {
                let range = ranges.randomElement(using: &rng) ?? ranges[0]
                if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &rng)) { s.unicodeScalars.append(scalar) }
            }
            let out = written(s)
            #expect(isValid(out))
            #expect(try parse(out).get() == .string(s), "\(s.debugDescription)")
        }
    }

    @Test func writesValuesCompactly() {
        let value: JSONValue = [
            "name": "gateway \"1\"",
            "n": [0, .number("-1.5e+3"), .number("12345678901234567890")],
            "flags": [true, false, nil],
            "nested": ["a": [:], "b": []],
            "k\ney": "\u{1}",
        ]
        let text = written(value)
        #expect(text == #"{"name":"gateway \"1\"","n":[0,-1.5e+3,12345678901234567890],"flags":[true,false,null],"nested":{"a":{},"b":[]},"k\ney":"\u0001"}"#)
        #expect(parse(bytes(text)).success == value)
        #expect(written(.null) == "null")
        #expect(written(.bool(true)) == "true")
        #expect(written(.array([])) == "[]")
        #expect(written(.object(JSONObject())) == "{}")
        #expect(written(.string("")) == #""""#)
    }

    @Test func numbersThatAreNotJSONBecomeNull() {
        for text in ["", "NaN", "Infinity", "-inf", "+1", "01", "1.", ".5", "0x10", "1e", "1 ", " 1", "1,2", "--1", "١"] {
            #expect(written(.number(text)) == "null", "\(text.debugDescription)")
        }
        for text in ["0", "-0", "1.5", "-1e-9", "1E+400", "123456789012345678901234567890"] {
            #expect(written(.number(text)) == text)
        }
        let value: JSONValue = [.number("NaN"), 1]
        #expect(written(value) == "[null,1]")
        #expect(isValid(bytes(value.serialized())))
    }

    @Test func parsedValuesRoundTripExactly() throws {
        for c in mustAccept {
            let v = try parse(c.input).get()
            #expect(try parse(bytes(written(v))).get() == v, "\(c.name)")
        }
    }
}
