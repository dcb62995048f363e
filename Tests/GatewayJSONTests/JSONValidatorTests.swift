import GatewayJSON
import Testing

/// Nested arrays: `count` × `[` then `count` × `]`.
func nestedArrays(_ count: Int, closed: Bool = true) -> [UInt8] {
    [UInt8](repeating: UInt8(ascii: "["), count: count) + (closed ? [UInt8](repeating: UInt8(ascii: "]"), count: count) : [])
}

/// Nested objects: `count` × `{"a":` then `1` and `count` × `}`.
func nestedObjects(_ count: Int, closed: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count * 6 + 1)
    for _ in 0..<count { out += bytes(#"{"a":"#) }
    guard closed else { return out }
    out.append(UInt8(ascii: "1"))
    out += [UInt8](repeating: UInt8(ascii: "}"), count: count)
    return out
}

/// Alternating `[{"a":[{"a":…` to `count` levels, closed.
func nestedMixed(_ count: Int) -> [UInt8] {
    var open: [UInt8] = []
    var close: [UInt8] = []
    for level in 0..<count {
        if level % 2 == 0 {
            open += bytes("[")
            close.insert(UInt8(ascii: "]"), at: 0)
        } else {
            open += bytes(#"{"a":"#)
            close.insert(UInt8(ascii: "}"), at: 0)
        }
    }
    return open + bytes("0") + close
}

@Suite struct JSONValidatorTests {
    @Test(arguments: mustAccept)
    func accepts(_ c: AcceptCase) {
        #expect(validationError(c.input) == nil, "\(show(c.input))")
        #expect(isValid(c.input))
    }

    @Test(arguments: mustReject)
    func rejects(_ c: RejectCase) {
        let error = validationError(c.input)
        #expect(error?.reason == c.reason, "\(show(c.input)): \(String(describing: error))")
        #expect(!isValid(c.input))
    }

    @Test func corpusAgreesWithReferenceRecognizer() {
        for c in mustAccept { #expect(ReferenceJSON.isValid(c.input), "\(c.name)") }
        for c in mustReject { #expect(!ReferenceJSON.isValid(c.input), "\(c.name)") }
    }

    @Test func corpusIsLargeEnough() {
        #expect(mustAccept.count >= 80)
        #expect(mustReject.count >= 120)
    }

    @Test func stringOverload() {
        #expect(JSONValidator.isValid(#"{"a":[1,"é"]}"#))
        #expect(!JSONValidator.isValid(#"{"a":[1,"é"],}"#))
        #expect(!JSONValidator.isValid(""))
    }

    @Test func errorOffsets() {
        #expect(validationError(bytes("[1,]")) == JSONError(.unexpectedCharacter(UInt8(ascii: "]"), expected: .value), at: 3))
        #expect(validationError(bytes(#"  "abc"#)) == JSONError(.unterminatedString, at: 2))
        #expect(validationError(bytes("[1] x")) == JSONError(.trailingCharacters, at: 4))
        #expect(validationError(bytes(#"["ab\qc"]"#)) == JSONError(.invalidEscape(UInt8(ascii: "q")), at: 4))
        #expect(validationError([0x5B, 0x22, 0x61, 0xE2, 0x82, 0x22, 0x5D]) == JSONError(.invalidUTF8, at: 3))
        #expect(validationError(bytes(" -01")) == JSONError(.leadingZero, at: 1))
        #expect(validationError(bytes("[1.e3]")) == JSONError(.invalidNumber, at: 3))
    }

    // MARK: Depth

    @Test func depthExactlyAtLimitIsAccepted() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(limit == 256)
        #expect(validationError(nestedArrays(limit)) == nil)
        #expect(validationError(nestedObjects(limit)) == nil)
        #expect(validationError(nestedMixed(limit)) == nil)
        #expect(validationError(bytes("{\"a\":") + nestedArrays(limit - 1) + bytes("}")) == nil)
    }

    @Test func depthOneOverLimitIsAnError() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(validationError(nestedArrays(limit + 1)) == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(validationError(nestedObjects(limit + 1)) == JSONError(.depthExceeded(limit: limit), at: limit * 5))
        #expect(validationError(nestedMixed(limit + 1))?.reason == .depthExceeded(limit: limit))
        // Empty containers count too.
        let withEmptyObject = Array(nestedArrays(limit).prefix(limit)) + bytes("{}") + Array(nestedArrays(limit).suffix(limit))
        #expect(validationError(withEmptyObject) == JSONError(.depthExceeded(limit: limit), at: limit))
    }

    @Test func customLimits() {
        #expect(validationError(bytes("[[1]]"), maxDepth: 2) == nil)
        #expect(validationError(bytes("[[1]]"), maxDepth: 1) == JSONError(.depthExceeded(limit: 1), at: 1))
        #expect(validationError(bytes("[]"), maxDepth: 0) == JSONError(.depthExceeded(limit: 0), at: 0))
        #expect(validationError(bytes(#" "scalars need no depth" "#), maxDepth: 0) == nil)
        #expect(validationError(bytes("1"), maxDepth: -5) == nil)
        #expect(validationError(bytes("{}"), maxDepth: -5)?.reason == .depthExceeded(limit: -5))
        // A generous limit is bounded by the input, not allocated up front.
        #expect(validationError(nestedArrays(10_000), maxDepth: Int.max) == nil)
        #expect(validationError(nestedMixed(1_000), maxDepth: 1_000) == nil)
        #expect(validationError(nestedMixed(1_001), maxDepth: 1_000)?.reason == .depthExceeded(limit: 1_000))
    }

    @Test func hugeNestingDoesNotCrash() {
        let limit = JSONValidator.defaultMaxDepth
        #expect(validationError(nestedArrays(100_000, closed: false)) == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(validationError(nestedArrays(100_000)) == JSONError(.depthExceeded(limit: limit), at: limit))
        #expect(validationError(nestedObjects(100_000, closed: false)) == JSONError(.depthExceeded(limit: limit), at: limit * 5))
        #expect(validationError(nestedObjects(100_000))?.reason == .depthExceeded(limit: limit))
        // Without a practical limit the validator still runs in constant stack and reports the real problem.
        #expect(validationError(nestedArrays(100_000, closed: false), maxDepth: Int.max)
            == JSONError(.unexpectedEnd(expected: .value), at: 100_000))
        #expect(validationError(nestedObjects(100_000, closed: false), maxDepth: Int.max)
            == JSONError(.unexpectedEnd(expected: .value), at: 500_000))
    }
}
