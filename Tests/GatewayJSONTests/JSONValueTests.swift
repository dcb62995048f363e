import GatewayJSON
import Testing

/// Parses `text`, failing the test (and returning `null`) when it does not parse.
private func value(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue {
    switch parse(bytes(text)) {
    case .success(let v):
        return v
    case .failure(let error):
        Issue.record("\(text) did not parse: \(error)", sourceLocation: sourceLocation)
        return .null
    }
}

@Suite struct JSONValueTests {
    // MARK: Corpus

    @Test(arguments: mustAccept)
    func acceptsAndRoundTrips(_ c: AcceptCase) throws {
        let parsed = try parse(c.input).get()
        let text = parsed.serialized()
        #expect(isValid(bytes(text)), "\(text)")
        let again = try parse(bytes(text)).get()
        #expect(again == parsed, "\(show(c.input)) → \(text)")
        #expect(again.serialized() == text)
    }

    @Test(arguments: mustReject)
    func rejectsLikeTheValidator(_ c: RejectCase) {
        let error = parse(c.input).failure
        #expect(error?.reason == c.reason, "\(show(c.input)): \(String(describing: error))")
        #expect(error == validationError(c.input), "tree parser and validator disagree on \(show(c.input))")
    }

    // MARK: Structure

    @Test func buildsTheTree() {
        let v = value(#" { "a" : [ 1 , -2.50e+3 , "x\u0041\n" ] , "b" : { } , "c" : [ true , false , null ] } "#)
        let expected: JSONValue = [
            "a": [1, .number("-2.50e+3"), "xA\n"],
            "b": .object([:]),
            "c": [true, false, nil],
        ]
        #expect(v == expected)
        #expect(v.serialized() == #"{"a":[1,-2.50e+3,"xA\n"],"b":{},"c":[true,false,null]}"#)
        #expect(v.description == v.serialized())
    }

    @Test func scalarsAtTopLevel() {
        #expect(value("  null ") == .null)
        #expect(value("true") == .bool(true))
        #expect(value("false") == .bool(false))
        #expect(value("-0.5E-7") == .number("-0.5E-7"))
        #expect(value(#""hi""#) == .string("hi"))
        #expect(value("[]") == .array([]))
        #expect(value("{}") == .object(JSONObject()))
    }

    @Test func numbersKeepTheirExactText() {
        for text in ["0", "-0", "1.50", "1E+2", "-1.0e-0", "123456789012345678901234567890", "1e400", "0.1000"] {
            #expect(value(text) == .number(text))
            #expect(value(text).serialized() == text)
        }
    }

    @Test func memberOrderIsKept() {
        let v = value(#"{"z":1,"a":2,"m":3,"a":4}"#)
        #expect(v.objectValue?.keys == ["z", "a", "m", "a"])
        #expect(v.serialized() == #"{"z":1,"a":2,"m":3,"a":4}"#)
    }

    // MARK: String decoding

    @Test func decodesEscapes() {
        #expect(value(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(value(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(value(#""\u0000""#) == .string("\u{0}"))
        #expect(value(#""\uD834\uDD1E""#) == .string("𝄞"))
        #expect(value(#""\ud83d\ude00!""#) == .string("😀!"))
        #expect(value(#""\\u0041""#) == .string("\\u0041"))
        #expect(value(#""plain €""#) == .string("plain €"))
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() {
        #expect(value(#""\uD800""#) == .string("\u{FFFD}"))
        #expect(value(#""\uDC00""#) == .string("\u{FFFD}"))
        #expect(value(#""a\uD800b""#) == .string("a\u{FFFD}b"))
        #expect(value(#""\uD800\u0041""#) == .string("\u{FFFD}A"))
        #expect(value(#""\uDC00\uD800""#) == .string("\u{FFFD}\u{FFFD}"))
        #expect(value(#""\uD800\uD834\uDD1E""#) == .string("\u{FFFD}𝄞"))
        #expect(value(#""\uD800\n""#) == .string("\u{FFFD}\n"))
        #expect(value(#""\uD800""#).serialized() == "\"\u{FFFD}\"")
    }

    @Test func keysAreDecoded() {
        let v = value(#"{"\u0063md":1,"a\tb":2}"#)
        #expect(v.objectValue?.keys == ["cmd", "a\tb"])
        #expect(v["cmd"] == 1)
    }

    // MARK: Accessors

    @Test func intValueOnlyForIntegralLiteralsInRange() {
        let cases: [(String, Int?)] = [
            ("0", 0), ("-0", 0), ("42", 42), ("-42", -42),
            ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
            ("9223372036854775808", nil), ("-9223372036854775809", nil),
            ("123456789012345678901234567890", nil),
            ("4.0", nil), ("4e1", nil), ("4E0", nil), ("1.5", nil), ("-0.0", nil), ("1e-1", nil),
        ]
        for (text, expected) in cases {
            #expect(value(text).intValue == expected, "\(text)")
        }
        #expect(JSONValue.string("42").intValue == nil)
        #expect(JSONValue.bool(true).intValue == nil)
        #expect(JSONValue.null.intValue == nil)
        #expect(JSONValue.number("").intValue == nil)
        #expect(JSONValue.number("-").intValue == nil)
        #expect(JSONValue.number("+1").intValue == nil)
        #expect(JSONValue.number("1-").intValue == nil)
        let literal: JSONValue = -17
        #expect(literal == .number("-17"))
        #expect(literal.intValue == -17)
    }

    @Test func doubleValue() {
        #expect(value("1.5").doubleValue == 1.5)
        #expect(value("-2.5e3").doubleValue == -2500)
        #expect(value("4").doubleValue == 4)
        #expect(value("-0").doubleValue?.sign == .minus)
        #expect(value("1e-400").doubleValue == 0)
        #expect(value("9223372036854775808").doubleValue == 9_223_372_036_854_775_808)
        #expect(value("1e400").doubleValue == nil)
        #expect(value("-1e400").doubleValue == nil)
        #expect(JSONValue.string("1").doubleValue == nil)
    }

    @Test func typedAccessors() {
        let v = value(#"{"s":"x","b":true,"n":null,"a":[1,2],"o":{"k":"v"}}"#)
        #expect(v["s"]?.stringValue == "x")
        #expect(v["b"]?.boolValue == true)
        #expect(v["n"]?.isNull == true)
        #expect(v["s"]?.isNull == false)
        #expect(v["a"]?.arrayValue == [1, 2])
        #expect(v["o"]?.objectValue == ["k": "v"])
        #expect(v["o"]?["k"] == "v")
        #expect(v["missing"] == nil)
        #expect(v["a"]?[1] == 2)
        #expect(v["a"]?[2] == nil)
        #expect(v["a"]?[-1] == nil)
        #expect(v[0] == nil)
        #expect(v["a"]?["k"] == nil)
        #expect(v["s"]?.boolValue == nil)
        #expect(v["b"]?.stringValue == nil)
        #expect(v["s"]?.arrayValue == nil)
        #expect(v["s"]?.objectValue == nil)
        #expect(v.stringValue == nil)
    }

    @Test func equalityIsJSONEquality() {
        // Same scalars, not canonical equivalence: these serialize differently, so they differ.
        #expect(JSONValue.string("\u{E9}") != .string("e\u{301}"))
        #expect(Array(JSONValue.string("\u{E9}").serialized().utf8) != Array(JSONValue.string("e\u{301}").serialized().utf8))
        #expect(value(#""\u00e9""#) == .string("\u{E9}"))
        #expect(value(#""e\u0301""#) == .string("e\u{301}"))
        // Numbers compare their literal text.
        #expect(JSONValue.number("1.0") != .number("1"))
        #expect(JSONValue.number("1") == 1)
        // Different types never compare equal, and order matters.
        #expect(JSONValue.string("1") != .number("1"))
        #expect(JSONValue.null != .bool(false))
        #expect(JSONValue.array([]) != .object([:]))
        #expect(JSONValue.array([1, 2]) != [2, 1])
        #expect(value(#"{"a":[1,{"b":null}]}"#) == ["a": [1, ["b": nil]]])
        #expect(value(#"{"a":[1,{"b":null}]}"#) != ["a": [1, ["b": false]]])
    }

    @Test func literals() {
        let v: JSONValue = ["k": [nil, true, 3, "s"], "e": [:]]
        #expect(v.serialized() == #"{"k":[null,true,3,"s"],"e":{}}"#)
    }

    // MARK: Duplicate keys

    @Test func duplicateKeysAreKeptByDefault() throws {
        let v = try parse(bytes(#"{"a":1,"b":2,"a":3}"#)).get()
        #expect(v.objectValue?.count == 3)
        #expect(v["a"] == 1)
        #expect(v.objectValue?.duplicateKey == "a")
    }

    @Test func duplicateKeysRejectedOnRequest() {
        #expect(parse(bytes(#"{"a":1,"a":2}"#), rejectDuplicateKeys: true).failure == JSONError(.duplicateKey("a"), at: 7))
        #expect(parse(bytes(#"{"a":{"b":1, "b":2}}"#), rejectDuplicateKeys: true).failure == JSONError(.duplicateKey("b"), at: 13))
        // Escapes are decoded before comparing: both names are "a".
        #expect(parse(bytes(#"{"a":1,"\u0061":2}"#), rejectDuplicateKeys: true).failure == JSONError(.duplicateKey("a"), at: 7))
        // The same name in different objects is fine.
        #expect(parse(bytes(#"[{"a":1},{"a":2}]"#), rejectDuplicateKeys: true).success != nil)
        #expect(parse(bytes(#"{"a":{"a":1}}"#), rejectDuplicateKeys: true).success != nil)
        // Names are compared scalar by scalar (RFC 8259 §8.3), not by canonical equivalence.
        let composed = bytes(#"{"\u00e9":1,"e\u0301":2}"#)
        #expect(parse(composed, rejectDuplicateKeys: true).success?.objectValue?.count == 2)
        #expect(parse(composed).success?.objectValue?.duplicateKey == nil)
        // A syntax error earlier than the duplicate wins; a duplicate earlier than a syntax error wins.
        #expect(parse(bytes(#"{"a":1,"a":2,}"#), rejectDuplicateKeys: true).failure?.reason == .duplicateKey("a"))
        #expect(parse(bytes(#"{"a":01,"a":2}"#), rejectDuplicateKeys: true).failure?.reason == .leadingZero)
    }

    // MARK: Errors

    @Test func errorOffsets() {
        let cases: [(String, JSONError)] = [
            ("", JSONError(.unexpectedEnd(expected: .value), at: 0)),
            ("   ", JSONError(.unexpectedEnd(expected: .value), at: 3)),
            ("[1,2,]", JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .value), at: 5)),
            (#"{"a" 1}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "1"), expected: .colon), at: 5)),
            (#"{"a":1 , }"#, JSONError(.unexpectedCharacter(UInt8(ascii: "}"), expected: .key), at: 9)),
            (#"["abc"#, JSONError(.unterminatedString, at: 1)),
            (#"[ "a\x" ]"#, JSONError(.invalidEscape(UInt8(ascii: "x")), at: 4)),
            (#"["\u12x4"]"#, JSONError(.invalidUnicodeEscape, at: 2)),
            ("[0, 012]", JSONError(.leadingZero, at: 4)),
            ("[0, -]", JSONError(.invalidNumber, at: 5)),
            ("[1.5e+]", JSONError(.invalidNumber, at: 6)),
            ("[true, nul]", JSONError(.invalidLiteral, at: 7)),
            ("{} []", JSONError(.trailingCharacters, at: 3)),
            ("[1 2]", JSONError(.unexpectedCharacter(UInt8(ascii: "2"), expected: .commaOrEndOfArray), at: 3)),
            (#"{"a":[1]"#, JSONError(.unexpectedEnd(expected: .commaOrEndOfObject), at: 8)),
        ]
        for (text, expected) in cases {
            #expect(parse(bytes(text)).failure == expected, "\(text)")
            #expect(validationError(bytes(text)) == expected, "\(text)")
        }
        #expect(parse([0x5B, 0x22, 0x78, 0x00, 0x22, 0x5D]).failure == JSONError(.controlCharacterInString(0), at: 3))
        #expect(parse([0x5B, 0x22, 0x78, 0xED, 0xA0, 0x80, 0x22, 0x5D]).failure == JSONError(.invalidUTF8, at: 3))
    }

    @Test func stringOverload() throws {
        #expect(try JSONValue.parse(#"{"a":"é"}"#) == ["a": "é"])
        #expect(throws: JSONError(.trailingCharacters, at: 2)) { _ = try JSONValue.parse("1 2") }
        #expect(throws: JSONError(.depthExceeded(limit: 1), at: 1)) {
            _ = try JSONValue.parse("[[]]", maxDepth: 1)
        }
        #expect(throws: JSONError(.duplicateKey("k"), at: 7)) {
            _ = try JSONValue.parse(#"{"k":1,"k":2}"#, rejectDuplicateKeys: true)
        }
    }

    // MARK: Depth

    @Test func depthLimit() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(parse(nestedArrays(limit)).success != nil)
        #expect(parse(nestedObjects(limit)).success != nil)
        #expect(parse(nestedMixed(limit)).success != nil)
        #expect(parse(nestedArrays(limit + 1)).failure == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(parse(nestedObjects(limit + 1)).failure == JSONError(.depthExceeded(limit: limit), at: limit * 5))
        #expect(parse(nestedMixed(limit + 1)).failure?.reason == .depthExceeded(limit: limit))
        #expect(parse(nestedArrays(3), maxDepth: 3).success != nil)
        #expect(parse(nestedArrays(3), maxDepth: 2).failure == JSONError(.depthExceeded(limit: 2), at: 2))
        #expect(parse(bytes("{}"), maxDepth: 0).failure == JSONError(.depthExceeded(limit: 0), at: 0))
        #expect(parse(bytes("7"), maxDepth: 0).success == 7)
    }

    @Test func deepTreeAtTheLimitIsUsable() throws {
        let limit = JSONValidator.defaultMaxDepth
        let v = try parse(nestedMixed(limit)).get()
        let text = v.serialized()
        #expect(text == String(decoding: nestedMixed(limit), as: UTF8.self))
        #expect(try parse(bytes(text)).get() == v)
    }

    @Test func hugeNestingDoesNotCrash() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(parse(nestedArrays(100_000, closed: false)).failure == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(parse(nestedArrays(100_000)).failure == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(parse(nestedObjects(100_000, closed: false)).failure == JSONError(.depthExceeded(limit: limit), at: limit * 5))
        #expect(parse(nestedObjects(100_000)).failure?.reason == .depthExceeded(limit: limit))
        #expect(parse(nestedObjects(100_000), rejectDuplicateKeys: true).failure?.reason == .depthExceeded(limit: limit))
        // Unbounded limit on unfinished input: the explicit stack grows on the heap, not the call stack.
        #expect(parse(nestedArrays(100_000, closed: false), maxDepth: Int.max).failure
            == JSONError(.unexpectedEnd(expected: .value), at: 100_000))
    }
}
