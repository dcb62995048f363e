import GatewayWebSocket
import Testing

private func validate(_ chunks: [[UInt8]]) -> (ok: Bool, boundary: Bool) {
    var validator = UTF8Validator()
    var ok = true
    for chunk in chunks {
        ok = chunk.withUnsafeBytes { validator.validate($0) } && ok
    }
    return (ok, validator.isAtBoundary)
}

private func isValid(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
}

let validSequences: [[UInt8]] = [
    [],
    Array("plain ASCII, longer than eight bytes".utf8),
    [0x00], [0x7F],
    [0xC2, 0x80], [0xC3, 0xA9], [0xDF, 0xBF],  // U+0080, é, U+07FF
    [0xE0, 0xA0, 0x80], [0xE2, 0x82, 0xAC], [0xED, 0x9F, 0xBF],  // U+0800, €, U+D7FF
    [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],  // U+E000, U+FFFF
    [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9D, 0x84, 0x9E], [0xF4, 0x8F, 0xBF, 0xBF],  // U+10000, 𝄞, U+10FFFF
    Array("κόσμε – ünïcödé ✓ 𝄞 mixed with ASCII text".utf8),
]

/// Invalid sequences and the length of the longest prefix that is still a valid prefix, so the
/// validator must fail exactly at the next byte.
let invalidSequences: [(bytes: [UInt8], failsAt: Int)] = [
    ([0x80], 0), ([0xBF], 0),  // stray continuation
    ([0xC0, 0x80], 0), ([0xC1, 0xBF], 0),  // overlong 2-byte
    ([0xE0, 0x80, 0x80], 1), ([0xE0, 0x9F, 0xBF], 1),  // overlong 3-byte
    ([0xF0, 0x80, 0x80, 0x80], 1), ([0xF0, 0x8F, 0xBF, 0xBF], 1),  // overlong 4-byte
    ([0xED, 0xA0, 0x80], 1), ([0xED, 0xBF, 0xBF], 1),  // surrogates D800, DFFF
    ([0xF4, 0x90, 0x80, 0x80], 1), ([0xF5, 0x80, 0x80, 0x80], 0), ([0xF7, 0xBF, 0xBF, 0xBF], 0),  // > U+10FFFF
    ([0xFE], 0), ([0xFF], 0),
    ([0xC3, 0x41], 1), ([0xE2, 0x82, 0x41], 2), ([0xF0, 0x9D, 0x84, 0x41], 3),  // lead without enough continuations
    ([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x80], 9),  // after the ASCII fast path
]

@Suite struct UTF8ValidatorTests {
    @Test func validSequencesPass() {
        for bytes in validSequences {
            #expect(isValid(bytes), "\(hex(bytes))")
        }
    }

    @Test func invalidSequencesFailAtTheFirstImpossibleByte() {
        for (bytes, failsAt) in invalidSequences {
            #expect(!isValid(bytes), "\(hex(bytes))")
            var validator = UTF8Validator()
            let prefix = Array(bytes[..<failsAt])
            #expect(prefix.withUnsafeBytes { validator.validate($0) }, "prefix of \(hex(bytes))")
            let next = [bytes[failsAt]]
            #expect(!next.withUnsafeBytes { validator.validate($0) }, "byte \(failsAt) of \(hex(bytes))")
            #expect(validator.hasFailed)
            #expect(!validator.isAtBoundary)
            // Failure is sticky.
            #expect(![UInt8(0x41)].withUnsafeBytes { validator.validate($0) })
        }
    }

    @Test func truncatedSequenceIsValidSoFarButNotAtABoundary() {
        for bytes: [UInt8] in [[0xC3], [0xE2, 0x82], [0xF0, 0x9D, 0x84], [0x61, 0xF4]] {
            let result = validate([bytes])
            #expect(result.ok && !result.boundary, "\(hex(bytes))")
            #expect(!isValid(bytes))
        }
    }

    @Test func everySplitPointOfMultiByteCharacters() {
        for bytes in validSequences where !bytes.isEmpty {
            for split in 0...bytes.count {
                let result = validate([Array(bytes[..<split]), Array(bytes[split...])])
                #expect(result.ok && result.boundary, "\(hex(bytes)) split at \(split)")
            }
            let result = validate(bytes.map { [$0] })
            #expect(result.ok && result.boundary)
        }
    }

    @Test func asciiFastPathAtEveryAlignment() {
        for before in 0..<20 {
            for after in 0..<12 {
                let good: [UInt8] = Array(repeating: 0x61, count: before) + [0xE2, 0x82, 0xAC] + Array(repeating: 0x62, count: after)
                #expect(isValid(good))
                let bad: [UInt8] = Array(repeating: 0x61, count: before) + [0xE2, 0x28, 0xAC] + Array(repeating: 0x62, count: after)
                #expect(!isValid(bad))
            }
        }
    }

    @Test func resetStartsOver() {
        var validator = UTF8Validator()
        #expect(![UInt8(0xFF)].withUnsafeBytes { validator.validate($0) })
        validator.reset()
        #expect(validator.isAtBoundary)
        #expect([UInt8(0x41)].withUnsafeBytes { validator.validate($0) })
    }

    @Test func agreesWithTheStandardLibraryOnRandomInput() {
        var random = TestRandom(seed: 2024)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &random)
            let bytes = (0..<length).map { _ in interesting.randomElement(using: &random) ?? 0 }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(isValid(bytes) == expected, "\(hex(bytes))")
        }
    }
}
