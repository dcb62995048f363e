import GatewayJSON
import Testing

/// A location as an array, which `#expect` can compare and print.
private func lineColumn(_ location: (line: Int, column: Int)) -> [Int] { [location.line, location.column] }

@Suite struct JSONErrorTests {
    @Test func descriptions() {
        let cases: [(JSONError, String)] = [
            (JSONError(.unexpectedEnd(expected: .value), at: 0), "unexpected end of input at offset 0 (expected a value)"),
            (JSONError(.unexpectedEnd(expected: .key), at: 1), "unexpected end of input at offset 1 (expected a string key)"),
            (JSONError(.unexpectedEnd(expected: .colon), at: 4), "unexpected end of input at offset 4 (expected ':')"),
            (JSONError(.unexpectedCharacter(UInt8(ascii: "x"), expected: .value), at: 12),
             "unexpected character 'x' at offset 12 (expected a value)"),
            (JSONError(.unexpectedCharacter(UInt8(ascii: "}"), expected: .commaOrEndOfArray), at: 2),
             "unexpected character '}' at offset 2 (expected ',' or ']')"),
            (JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .commaOrEndOfObject), at: 6),
             "unexpected character ']' at offset 6 (expected ',' or '}')"),
            (JSONError(.unexpectedCharacter(0x20, expected: .colon), at: 3), "unexpected character byte 0x20 at offset 3 (expected ':')"),
            (JSONError(.unexpectedCharacter(0xC3, expected: .value), at: 0), "unexpected character byte 0xC3 at offset 0 (expected a value)"),
            (JSONError(.unterminatedString, at: 3), "unterminated string at offset 3"),
            (JSONError(.controlCharacterInString(0x0A), at: 2), "unescaped control character byte 0x0A in string at offset 2"),
            (JSONError(.invalidEscape(UInt8(ascii: "q")), at: 4), "invalid escape '\\' followed by 'q' at offset 4"),
            (JSONError(.invalidUnicodeEscape, at: 1), "invalid \\u escape (expected 4 hex digits) at offset 1"),
            (JSONError(.invalidUTF8, at: 5), "invalid UTF-8 in string at offset 5"),
            (JSONError(.invalidNumber, at: 0), "invalid number at offset 0"),
            (JSONError(.leadingZero, at: 0), "number with a leading zero at offset 0"),
            (JSONError(.invalidLiteral, at: 0), "invalid literal at offset 0 (expected true, false or null)"),
            (JSONError(.depthExceeded(limit: 256), at: 256), "nesting deeper than 256 at offset 256"),
            (JSONError(.trailingCharacters, at: 3), "trailing characters after the value at offset 3"),
            (JSONError(.duplicateKey("a"), at: 7), "duplicate key \"a\" at offset 7"),
        ]
        for (error, text) in cases {
            #expect(error.description == text)
        }
    }

    @Test func locationCountsLinesAndScalars() {
        let text = "{\n  \"a\": 1,\n  \"b\": tru\n}"
        let error = parse(bytes(text)).failure
        #expect(error?.reason == .invalidLiteral)
        #expect(error.map { lineColumn($0.location(in: text)) } == [3, 8])
        // Columns count scalars, not bytes: "é" is two bytes but one column.
        let accented = #"{"é": x}"#
        let e2 = parse(bytes(accented)).failure
        #expect(e2 == JSONError(.unexpectedCharacter(UInt8(ascii: "x"), expected: .value), at: 7))
        #expect(e2.map { lineColumn($0.location(in: accented)) } == [1, 7])
        // CRLF ends a line once.
        let crlf = "[\r\n1,\r\n]"
        let e3 = parse(bytes(crlf)).failure
        #expect(e3 == JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .value), at: 7))
        #expect(e3.map { lineColumn($0.location(in: crlf)) } == [3, 1])
    }

    @Test func locationEdges() {
        #expect(lineColumn(JSONError(.trailingCharacters, at: 0).location(in: "")) == [1, 1])
        #expect(lineColumn(JSONError(.trailingCharacters, at: 100).location(in: "ab\ncd")) == [2, 3])
        #expect(lineColumn(JSONError(.trailingCharacters, at: -4).location(in: "ab")) == [1, 1])
        #expect(lineColumn(JSONError(.trailingCharacters, at: 3).location(in: "ab\n")) == [2, 1])
        let input: [UInt8] = [0x61, 0x0A, 0xF0, 0x9F, 0x98, 0x80, 0x62, 0x0A, 0x0A, 0x63]
        #expect(lineColumn(input.withUnsafeBytes { JSONError(.invalidUTF8, at: 6).location(in: $0) }) == [2, 2])
        #expect(lineColumn(input.withUnsafeBytes { JSONError(.invalidUTF8, at: 9).location(in: $0) }) == [4, 1])
    }

    @Test func equality() {
        #expect(JSONError(.invalidNumber, at: 1) == JSONError(.invalidNumber, at: 1))
        #expect(JSONError(.invalidNumber, at: 1) != JSONError(.invalidNumber, at: 2))
        #expect(JSONError(.invalidNumber, at: 1) != JSONError(.leadingZero, at: 1))
        #expect(JSONError(.duplicateKey("a"), at: 1) != JSONError(.duplicateKey("b"), at: 1))
    }
}
