import GatewayJSON
import Testing

/// A parsed envelope with its ranges resolved to the text they cover.
private struct Resolved: Equatable, CustomStringConvertible {
    var cmd: String
    var id: String?
    var data: String?

    var description: String { "cmd=\(cmd) id=\(id ?? "nil") data=\(data ?? "nil")" }
}

/// Parses `text` and resolves the ranges; the error when it does not parse.
private func envelope(_ text: String, maxDepth: Int = JSONValidator.defaultMaxDepth) -> Result<Resolved, JSONEnvelopeError> {
    envelope(bytes(text), maxDepth: maxDepth)
}

private func envelope(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth) -> Result<Resolved, JSONEnvelopeError> {
    parseEnvelope(input, maxDepth: maxDepth).map { env in
        Resolved(
            cmd: env.cmd,
            id: env.id.map { String(decoding: input[$0], as: UTF8.self) },
            data: env.data.map { String(decoding: input[$0], as: UTF8.self) }
        )
    }
}

private func ok(_ cmd: String, id: String? = nil, data: String? = nil) -> Result<Resolved, JSONEnvelopeError> {
    .success(Resolved(cmd: cmd, id: id, data: data))
}

@Suite struct JSONEnvelopeTests {
    // MARK: Accepted messages

    @Test func minimalMessage() {
        #expect(envelope(#"{"cmd":"ping"}"#) == ok("ping"))
        let input = bytes(#"{"cmd":"ping"}"#)
        let env = parseEnvelope(input).success
        #expect(env == JSONEnvelope(cmd: "ping"))
        #expect(env?.id == nil)
        #expect(env?.data == nil)
    }

    @Test func fullMessage() {
        let text = #"{"cmd": "chat.send", "id": "42", "data": {"text": "hi"}}"#
        #expect(envelope(text) == ok("chat.send", id: #""42""#, data: #"{"text": "hi"}"#))
        let env = parseEnvelope(bytes(text)).success
        #expect(env?.id == 27..<31)
        #expect(env?.data == 41..<55)
    }

    @Test func idTokens() {
        #expect(envelope(#"{"cmd":"a","id":42}"#) == ok("a", id: "42"))
        #expect(envelope(#"{"cmd":"a","id":0}"#) == ok("a", id: "0"))
        #expect(envelope(#"{"cmd":"a","id":-1.5e3}"#) == ok("a", id: "-1.5e3"))
        #expect(envelope(#"{"cmd":"a","id":12345678901234567890123}"#) == ok("a", id: "12345678901234567890123"))
        #expect(envelope(#"{"cmd":"a","id":""}"#) == ok("a", id: #""""#))
        #expect(envelope(#"{"cmd":"a","id":"x\"y\u0041"}"#) == ok("a", id: #""x\"y\u0041""#))
        #expect(envelope(#"{"id":"first","cmd":"a"}"#) == ok("a", id: #""first""#))
        #expect(envelope("{\"cmd\":\"a\",\"id\" :\t7 }") == ok("a", id: "7"))
        #expect(envelope(#"{"cmd":"a"}"#) == ok("a"))
    }

    @Test func idOfOtherTypesIsRejected() {
        for (value, offset) in [("true", 16), ("false", 16), ("null", 16), ("{}", 16), ("[]", 16), (#"{"x":1}"#, 16), ("[1]", 16)] {
            let text = #"{"cmd":"a","id":"# + value + "}"
            #expect(envelope(text) == .failure(.idNotStringOrNumber(offset: offset)), "\(text)")
        }
        #expect(envelope(#"{"id": null, "cmd":"a"}"#) == .failure(.idNotStringOrNumber(offset: 7)))
    }

    @Test func dataOfEveryType() {
        let cases: [(String, String)] = [
            (#"{"k":[1,{"z":null}]}"#, #"{"k":[1,{"z":null}]}"#),
            ("[1,2,3]", "[1,2,3]"),
            (#""text""#, #""text""#),
            ("-12.5e-3", "-12.5e-3"),
            ("0", "0"),
            ("true", "true"),
            ("false", "false"),
            ("null", "null"),
            ("{}", "{}"),
            ("[]", "[]"),
            (#""""#, #""""#),
        ]
        for (value, expected) in cases {
            #expect(envelope(#"{"cmd":"c","data":"# + value + "}") == ok("c", data: expected), "\(value)")
            #expect(envelope(#"{"data":"# + value + #","cmd":"c"}"#) == ok("c", data: expected), "\(value)")
        }
        #expect(envelope(#"{"cmd":"c","id":"1"}"#) == ok("c", id: #""1""#, data: nil))
    }

    @Test func dataRangeIsExactlyTheValue() {
        let text = "{\"cmd\":\"x\",\"data\" : \t{ \"a\" : [ 1 ,\n 2 ] , \"b\":\"\\u0041 \" } \r\n}"
        #expect(envelope(text) == ok("x", data: "{ \"a\" : [ 1 ,\n 2 ] , \"b\":\"\\u0041 \" }"))
        let input = bytes(text)
        let data = parseEnvelope(input).success?.data
        #expect(data.map { input[$0.lowerBound] } == UInt8(ascii: "{"))
        #expect(data.map { input[$0.upperBound - 1] } == UInt8(ascii: "}"))
        // The forwarded bytes are themselves valid JSON.
        #expect(data.map { isValid(Array(input[$0])) } == true)
        // Non-ASCII and escapes are forwarded untouched.
        #expect(envelope(#"{"cmd":"x","data":"é\n😀"}"#) == ok("x", data: #""é\n😀""#))
    }

    @Test func whitespaceEverywhere() {
        let text = " \t\r\n{ \"id\" \n: \"9\" ,\r\n\t\"cmd\"\t:\t\"go\"\t, \"data\" : [ ] }\n\t "
        #expect(envelope(text) == ok("go", id: #""9""#, data: "[ ]"))
        #expect(envelope("{\"cmd\":\"go\"}   ") == ok("go"))
    }

    @Test func unknownKeysAreIgnoredButValidated() {
        let text = #"{"x":{"cmd":"inner","id":true,"data":1,"deep":[[{"cmd":[]}]]},"cmd":"outer","y":[{"cmd":1},"id"],"z":null}"#
        #expect(envelope(text) == ok("outer"))
        #expect(envelope(#"{"cmd":"a","data":{"cmd":"b","id":"c"}}"#) == ok("a", data: #"{"cmd":"b","id":"c"}"#))
        #expect(envelope(#"{"CMD":"no","Cmd":"no","cmd":"yes","ID":true,"Data":"x"}"#) == ok("yes"))
        #expect(envelope(#"{"cmd":"a","x":[1,]}"#)
            == .failure(.invalidJSON(JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .value), at: 18))))
        #expect(envelope(#"{"cmd":"a","x":"\q"}"#) == .failure(.invalidJSON(JSONError(.invalidEscape(UInt8(ascii: "q")), at: 16))))
        #expect(envelope([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) == .failure(.invalidJSON(JSONError(.invalidUTF8, at: 2))))
    }

    @Test func escapedCommand() {
        #expect(envelope(#"{"cmd":"chat\u002esend"}"#) == ok("chat.send"))
        #expect(envelope(#"{"cmd":"a\/b\\c\"d"}"#) == ok("a/b\\c\"d"))
        #expect(envelope(#"{"cmd":"\ud83d\ude00"}"#) == ok("😀"))
        #expect(envelope(#"{"cmd":"\uD800x"}"#) == ok("\u{FFFD}x"))
        #expect(envelope(#"{"cmd":"\u0000"}"#) == ok("\u{0}"))
        #expect(envelope(#"{"cmd":"é€"}"#) == ok("é€"))
        #expect(envelope(#"{"cmd":"a-very-long-command-name.that.does.not.fit.inline"}"#)
            == ok("a-very-long-command-name.that.does.not.fit.inline"))
    }

    @Test func escapedMemberNames() {
        #expect(envelope(#"{"\u0063md":"x","\u0069d":7,"d\u0061t\u0061":[]}"#) == ok("x", id: "7", data: "[]"))
        #expect(envelope(#"{"\u0063\u006D\u0064":"x"}"#) == ok("x"))
        // Near misses are other keys.
        #expect(envelope(#"{"cm":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"cmdx":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"c\u006dd\u0000":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"\u0063m":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"cmd ":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"\uFF43md":"x"}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"c\u00edmd":"x","cmd":"y","i\u0000":1}"#) == ok("y"))
    }

    // MARK: Errors

    @Test func emptyCommandIsRejected() {
        #expect(envelope(#"{"cmd":""}"#) == .failure(.emptyCmd(offset: 7)))
        #expect(envelope(#"{"cmd" : ""}"#) == .failure(.emptyCmd(offset: 9)))
        #expect(envelope(#"{"id":1,"cmd":"","data":{}}"#) == .failure(.emptyCmd(offset: 14)))
    }

    @Test func commandMustBeAString() {
        #expect(envelope(#"{"cmd":1}"#) == .failure(.cmdNotString(offset: 7)))
        #expect(envelope(#"{"cmd":null}"#) == .failure(.cmdNotString(offset: 7)))
        #expect(envelope(#"{"cmd":true}"#) == .failure(.cmdNotString(offset: 7)))
        #expect(envelope(#"{"cmd":["a"]}"#) == .failure(.cmdNotString(offset: 7)))
        #expect(envelope(#"{"cmd": {"a":"b"}}"#) == .failure(.cmdNotString(offset: 8)))
        #expect(envelope(#"{"cmd":-0.5}"#) == .failure(.cmdNotString(offset: 7)))
    }

    @Test func missingCommand() {
        #expect(envelope("{}") == .failure(.missingCmd))
        #expect(envelope(" { } ") == .failure(.missingCmd))
        #expect(envelope(#"{"id":"1","data":{}}"#) == .failure(.missingCmd))
        #expect(envelope(#"{"command":"x"}"#) == .failure(.missingCmd))
    }

    @Test func nonObjectTopLevelIsRejected() {
        for text in ["[]", #"[{"cmd":"a"}]"#, #""cmd""#, "1", "-0.5", "true", "false", "null", "  [ ]  "] {
            #expect(envelope(text) == .failure(.notAnObject), "\(text)")
        }
    }

    @Test func invalidJSONIsReportedAsSuch() {
        let cases: [(String, JSONError)] = [
            ("", JSONError(.unexpectedEnd(expected: .value), at: 0)),
            ("   ", JSONError(.unexpectedEnd(expected: .value), at: 3)),
            ("[1,]", JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .value), at: 3)),
            ("nul", JSONError(.invalidLiteral, at: 0)),
            ("{", JSONError(.unexpectedEnd(expected: .key), at: 1)),
            (#"{"cmd""#, JSONError(.unexpectedEnd(expected: .colon), at: 6)),
            (#"{"cmd":"#, JSONError(.unexpectedEnd(expected: .value), at: 7)),
            (#"{"cmd":"a""#, JSONError(.unexpectedEnd(expected: .commaOrEndOfObject), at: 10)),
            (#"{"cmd":"a"#, JSONError(.unterminatedString, at: 7)),
            (#"{"cmd":"a",}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "}"), expected: .key), at: 11)),
            (#"{"cmd":"a"} x"#, JSONError(.trailingCharacters, at: 12)),
            (#"{"cmd":"a"}{}"#, JSONError(.trailingCharacters, at: 11)),
            (#"{"cmd":"a" "id":1}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "\""), expected: .commaOrEndOfObject), at: 11)),
            (#"{"cmd":"a","id":01}"#, JSONError(.leadingZero, at: 16)),
            (#"{"cmd":"a","id":-}"#, JSONError(.invalidNumber, at: 17)),
            (#"{"cmd":"a","id":tru}"#, JSONError(.invalidLiteral, at: 16)),
            (#"{"cmd":"a","data":[}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "}"), expected: .value), at: 19)),
            (#"{"cmd":"a\x"}"#, JSONError(.invalidEscape(UInt8(ascii: "x")), at: 9)),
            (#"{cmd:"a"}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "c"), expected: .key), at: 1)),
            (#"{"cmd":'a'}"#, JSONError(.unexpectedCharacter(UInt8(ascii: "'"), expected: .value), at: 7)),
        ]
        for (text, error) in cases {
            #expect(envelope(text) == .failure(.invalidJSON(error)), "\(text)")
            #expect(validationError(bytes(text)) == error, "\(text)")
        }
        #expect(envelope([0x7B, 0x22, 0x63, 0x6D, 0x64, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D])
            == .failure(.invalidJSON(JSONError(.invalidUTF8, at: 8))))
    }

    @Test func duplicateMembers() {
        #expect(envelope(#"{"cmd":"a","cmd":"b"}"#) == .failure(.duplicateKey(.cmd, offset: 11)))
        #expect(envelope(#"{"cmd":"a","id":1,"id":2}"#) == .failure(.duplicateKey(.id, offset: 18)))
        #expect(envelope(#"{"cmd":"a","data":1,"data":2}"#) == .failure(.duplicateKey(.data, offset: 20)))
        #expect(envelope(#"{"cmd":"a","data":null,"data":null}"#) == .failure(.duplicateKey(.data, offset: 23)))
        #expect(envelope(#"{"cmd":"a","\u0063md":"b"}"#) == .failure(.duplicateKey(.cmd, offset: 11)))
        #expect(envelope(#"{"id":"x","i\u0064":true,"cmd":"a"}"#) == .failure(.duplicateKey(.id, offset: 10)))
        // Duplicate ids without any cmd: the duplicate is the first problem.
        #expect(envelope(#"{"id":1,"id":2}"#) == .failure(.duplicateKey(.id, offset: 8)))
        // Duplicates of ignored keys are fine.
        #expect(envelope(#"{"x":1,"x":2,"cmd":"a"}"#) == ok("a"))
    }

    @Test func firstEnvelopeProblemWinsButSyntaxErrorsWinOverAll() {
        #expect(envelope(#"{"cmd":1,"id":true}"#) == .failure(.cmdNotString(offset: 7)))
        #expect(envelope(#"{"id":true,"cmd":1}"#) == .failure(.idNotStringOrNumber(offset: 6)))
        #expect(envelope(#"{"cmd":"","cmd":"b"}"#) == .failure(.emptyCmd(offset: 7)))
        #expect(envelope(#"{"cmd":"a","cmd":1}"#) == .failure(.duplicateKey(.cmd, offset: 11)))
        #expect(envelope(#"{"cmd":1,"x":tru}"#) == .failure(.invalidJSON(JSONError(.invalidLiteral, at: 13))))
        #expect(envelope(#"{"cmd":"","id":[1,2}"#) == .failure(.invalidJSON(
            JSONError(.unexpectedCharacter(UInt8(ascii: "}"), expected: .commaOrEndOfArray), at: 19))))
        #expect(envelope(#"{"cmd":"a","cmd":"b"} ,"#) == .failure(.invalidJSON(JSONError(.trailingCharacters, at: 22))))
        #expect(envelope(#"{"id":null} x"#) == .failure(.invalidJSON(JSONError(.trailingCharacters, at: 12))))
    }

    // MARK: Depth

    @Test func depthLimitCountsTheEnvelope() {
        let limit = JSONValidator.defaultMaxDepth
        let prefix = bytes(#"{"cmd":"x","data":"#)
        #expect(prefix.count == 18)
        let atLimit = prefix + nestedArrays(limit - 1) + bytes("}")
        #expect(envelope(atLimit).success?.data?.count == 2 * (limit - 1))
        #expect(isValid(atLimit))
        let over = prefix + nestedArrays(limit) + bytes("}")
        #expect(envelope(over) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: limit), at: 18 + limit - 1))))
        #expect(validationError(over) == JSONError(.depthExceeded(limit: limit), at: 18 + limit - 1))
        let overInIgnored = bytes(#"{"cmd":"x","zz":"#) + nestedObjects(limit) + bytes("}")
        #expect(envelope(overInIgnored).failure == .invalidJSON(JSONError(.depthExceeded(limit: limit), at: 16 + (limit - 1) * 5)))
        let overInId = bytes(#"{"cmd":"x","id":"#) + nestedArrays(limit) + bytes("}")
        #expect(envelope(overInId).failure == .invalidJSON(JSONError(.depthExceeded(limit: limit), at: 16 + limit - 1)))
        let overInCmd = bytes(#"{"cmd":"#) + nestedArrays(limit) + bytes("}")
        #expect(envelope(overInCmd).failure == .invalidJSON(JSONError(.depthExceeded(limit: limit), at: 7 + limit - 1)))
    }

    @Test func customDepthLimits() {
        #expect(envelope(#"{"cmd":"x"}"#, maxDepth: 1) == ok("x"))
        #expect(envelope(#"{"cmd":"x","data":[]}"#, maxDepth: 1) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: 1), at: 18))))
        #expect(envelope(#"{"cmd":"x","data":[]}"#, maxDepth: 2) == ok("x", data: "[]"))
        #expect(envelope(#"{"cmd":"x"}"#, maxDepth: 0) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: 0), at: 0))))
        #expect(envelope(" []", maxDepth: 0) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: 0), at: 1))))
        #expect(envelope("1", maxDepth: 0) == .failure(.notAnObject))
    }

    @Test func hugeNestingDoesNotCrash() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(envelope(nestedArrays(100_000, closed: false)) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: limit), at: limit))))
        #expect(envelope(nestedArrays(100_000)) == .failure(.invalidJSON(JSONError(.depthExceeded(limit: limit), at: limit))))
        #expect(envelope(nestedObjects(100_000, closed: false))
            == .failure(.invalidJSON(JSONError(.depthExceeded(limit: limit), at: limit * 5))))
        #expect(envelope(nestedObjects(100_000)).failure == .invalidJSON(JSONError(.depthExceeded(limit: limit), at: limit * 5)))
        let data = bytes(#"{"cmd":"x","data":"#) + nestedArrays(100_000)
        #expect(envelope(data).failure == .invalidJSON(JSONError(.depthExceeded(limit: limit), at: 18 + limit - 1)))
    }

    @Test func agreesWithValidatorOnTheCorpus() {
        for c in mustAccept {
            let result = parseEnvelope(c.input)
            if case .failure(.invalidJSON(let error)) = result {
                Issue.record("\(c.name): valid JSON reported invalid: \(error)")
            }
        }
        for c in mustReject {
            #expect(parseEnvelope(c.input).failure == .invalidJSON(JSONError(c.reason, at: validationError(c.input)?.offset ?? -1)),
                    "\(c.name)")
        }
    }
}
