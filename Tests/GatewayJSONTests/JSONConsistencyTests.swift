import GatewayJSON
import Testing

/// What every entry point says about one input.
private struct Verdicts: CustomStringConvertible {
    var isValid: Bool
    var validatorError: JSONError?
    var parserError: JSONError?
    var envelope: Result<JSONEnvelope, JSONEnvelopeError>
    var scannerError: JSONError?
    var reference: Bool

    init(_ input: [UInt8]) {
        isValid = GatewayJSONTests.isValid(input)
        validatorError = validationError(input)
        parserError = parse(input).failure
        envelope = parseEnvelope(input)
        scannerError = scan(input).failure
        reference = ReferenceJSON.isValid(input)
    }

    /// The envelope's syntax error, if it reported one.
    var envelopeSyntaxError: JSONError? {
        if case .failure(.invalidJSON(let error)) = envelope { return error }
        return nil
    }

    var description: String {
        "isValid=\(isValid) validate=\(String(describing: validatorError)) parse=\(String(describing: parserError)) "
            + "envelope=\(envelope) scanner=\(String(describing: scannerError)) reference=\(reference)"
    }

    /// Checks that all entry points agree, and that they report the same first error.
    func check(_ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let agree = isValid == (validatorError == nil) && isValid == (parserError == nil)
            && isValid == (envelopeSyntaxError == nil) && isValid == (scannerError == nil) && isValid == reference
        #expect(agree, "\(show(input)): \(self)", sourceLocation: sourceLocation)
        if !isValid {
            #expect(parserError == validatorError, "\(show(input)): \(self)", sourceLocation: sourceLocation)
            #expect(envelopeSyntaxError == validatorError, "\(show(input)): \(self)", sourceLocation: sourceLocation)
            #expect(scannerError == validatorError, "\(show(input)): \(self)", sourceLocation: sourceLocation)
        }
    }
}

/// Documents the mutations start from: the corpus' valid inputs plus envelope-shaped messages.
private let seeds: [[UInt8]] = mustAccept.map(\.input) + [
    bytes(#"{"cmd":"chat.send","id":"42","data":{"text":"hi \u00e9 \"x\"","to":[1,-2.5e3,true,null]}}"#),
    bytes(#"{ "id" : 7 , "cmd" : "a\/b" , "data" : [ { } , [ ] , "" ] , "extra" : { "cmd" : 1 } }"#),
    bytes("{\"cmd\":\"x\",\"data\":\"é€😀\\uD83D\\uDE00\\uD800\"}"),
    bytes("[\"\u{7F}\", 0.5E-10, {\"\": \"\\\\\"}, -0, 1e+2]"),
    nestedMixed(12),
]

/// One random edit of `input`.
private func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
    let interesting: [UInt8] = Array(#"{}[]":,\ -+.0123456789eEtfnu"#.utf8)
        + [0x09, 0x0A, 0x0D, 0x0C, 0x00, 0x1F, 0x7F, 0x80, 0xA0, 0xBF, 0xC0, 0xC3, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]
    func randomByte() -> UInt8 {
        Int.random(in: 0..<4, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng) : interesting.randomElement(using: &rng) ?? 0
    }
    var out = input
    let position = out.isEmpty ? 0 : Int.random(in: 0..<out.count, using: &rng)
    switch Int.random(in: 0..<7, using: &rng) {
    case 0 where !out.isEmpty:
        out[position] = randomByte()
    case 1:
        out.insert(randomByte(), at: Int.random(in: 0...out.count, using: &rng))
    case 2 where !out.isEmpty:
        out.remove(at: position)
    case 3 where !out.isEmpty:
        // Copy a slice somewhere else: makes duplicate members, extra nesting, unbalanced brackets.
        let end = Int.random(in: position...out.count, using: &rng)
        let slice = out[position..<end]
        out.insert(contentsOf: slice, at: Int.random(in: 0...out.count, using: &rng))
    case 4:
        out.removeLast(Int.random(in: 0...min(out.count, 3), using: &rng))
    case 5 where out.count > 1:
        out.swapAt(position, Int.random(in: 0..<out.count, using: &rng))
    default:
        // Flip one bit: mostly keeps the byte class, hits UTF-8 edges.
        if !out.isEmpty { out[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng) }
    }
    return out
}

@Suite struct JSONConsistencyTests {
    @Test func corpusInputsGetTheSameVerdictEverywhere() {
        for c in mustAccept {
            let v = Verdicts(c.input)
            #expect(v.isValid, "\(c.name)")
            v.check(c.input)
        }
        for c in mustReject {
            let v = Verdicts(c.input)
            #expect(!v.isValid, "\(c.name)")
            v.check(c.input)
        }
    }

    @Test func randomMutationsGetTheSameVerdictEverywhere() {
        var rng = SplitMix64(seed: 0x00C0_FFEE)
        var valid = 0
        var invalid = 0
        for _ in 0..<2_000 {
            var input = seeds.randomElement(using: &rng) ?? []
            for _ in 0..<Int.random(in: 1...3, using: &rng) { input = mutate(input, using: &rng) }
            let v = Verdicts(input)
            v.check(input)
            if v.isValid { valid += 1 } else { invalid += 1 }
        }
        // The mutations must exercise both sides, or the test proves little.
        #expect(valid > 100)
        #expect(invalid > 1_000)
    }

    @Test func randomMutationsOfEnvelopesKeepEnvelopeRules() {
        var rng = SplitMix64(seed: 0xE1E1_0002)
        let envelopes = seeds.filter { parseEnvelope($0).success != nil }
        #expect(envelopes.count >= 3)
        for _ in 0..<2_000 {
            var input = envelopes.randomElement(using: &rng) ?? []
            for _ in 0..<Int.random(in: 1...2, using: &rng) { input = mutate(input, using: &rng) }
            guard case .success(let env) = parseEnvelope(input) else { continue }
            // Whatever was accepted has a non-empty cmd, an id token that is a string or number, and
            // a data range that is valid JSON on its own; the whole message is a valid object.
            #expect(!env.cmd.isEmpty, "\(show(input))")
            guard case .success(.object(let object)) = parse(input) else {
                Issue.record("accepted envelope is not an object: \(show(input))")
                continue
            }
            #expect(object["cmd"]?.stringValue == env.cmd, "\(show(input))")
            if let id = env.id {
                let token = Array(input[id])
                #expect(token.first == UInt8(ascii: "\"") || token.first == UInt8(ascii: "-")
                    || (token.first.map { $0 >= 0x30 && $0 <= 0x39 } ?? false), "\(show(input))")
                #expect(parse(token).success == object["id"], "\(show(input))")
            } else {
                #expect(object["id"] == nil, "\(show(input))")
            }
            if let data = env.data {
                #expect(parse(Array(input[data])).success == object["data"], "\(show(input))")
            } else {
                #expect(object["data"] == nil, "\(show(input))")
            }
        }
    }

    @Test func randomMutationsAtTheDepthLimit() {
        var rng = SplitMix64(seed: 0xDEE9)
        let limit = JSONValidator.defaultMaxDepth
        let deep = [nestedArrays(limit), nestedObjects(limit), nestedMixed(limit), nestedMixed(limit - 1)]
        for _ in 0..<200 {
            var input = deep.randomElement(using: &rng) ?? []
            for _ in 0..<Int.random(in: 1...3, using: &rng) { input = mutate(input, using: &rng) }
            Verdicts(input).check(input)
        }
    }
}
