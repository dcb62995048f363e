import GatewayBuffers
import GatewayJSON

/// The UTF-8 of `text`, for corpus entries that are plain text.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A JSON string literal around raw `contents` bytes: `"` contents `"`.
func quoted(_ contents: [UInt8]) -> [UInt8] { [0x22] + contents + [0x22] }

/// `JSONValidator.validate`, as the error it throws (nil when valid).
func validationError(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth) -> JSONError? {
    input.withUnsafeBytes { raw in
        do throws(JSONError) {
            try JSONValidator.validate(raw, maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }
}

/// `JSONValidator.isValid` over an array.
func isValid(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth) -> Bool {
    input.withUnsafeBytes { JSONValidator.isValid($0, maxDepth: maxDepth) }
}

/// `JSONValue.parse` over an array, as a `Result`.
func parse(
    _ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth, rejectDuplicateKeys: Bool = false
) -> Result<JSONValue, JSONError> {
    input.withUnsafeBytes { raw in
        Result { () throws(JSONError) -> JSONValue in
            try JSONValue.parse(raw, maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys)
        }
    }
}

/// `JSONEnvelope.parse` over an array, as a `Result`.
func parseEnvelope(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth) -> Result<JSONEnvelope, JSONEnvelopeError> {
    input.withUnsafeBytes { raw in
        Result { () throws(JSONEnvelopeError) -> JSONEnvelope in try JSONEnvelope.parse(raw, maxDepth: maxDepth) }
    }
}

extension Result {
    /// The failure, if any.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    /// The success value, if any.
    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

/// The bytes a `ByteBuffer` holds.
func contents(of buffer: ByteBuffer) -> [UInt8] {
    buffer.withUnsafeReadableBytes { Array($0) }
}

/// `input` rendered for failure messages: printable ASCII as is, everything else as `\xNN`.
func show(_ input: [UInt8]) -> String {
    var out = ""
    for b in input.prefix(120) {
        if b >= 0x20 && b < 0x7F {
            out.append(Character(Unicode.Scalar(b)))
        } else {
            let hex = String(b, radix: 16, uppercase: true)
            out += b < 0x10 ? "\\x0\(hex)" : "\\x\(hex)"
        }
    }
    return input.count > 120 ? out + "…(\(input.count) bytes)" : out
}

/// SplitMix64: a small seeded generator, so every random test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// An independent, deliberately naive RFC 8259 recognizer used as an oracle for the module.
///
/// It is recursive descent (bounded by `maxDepth`, so it only ever sees shallow nesting), and it checks
/// UTF-8 by decoding each sequence to a code point and testing the result (shortest form, not a
/// surrogate, at most U+10FFFF) instead of the module's table of byte ranges.
struct ReferenceJSON {
    private let b: [UInt8]
    private let maxDepth: Int
    private var i = 0

    /// Whether `input` is exactly one JSON value with optional surrounding whitespace.
    static func isValid(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth) -> Bool {
        var r = ReferenceJSON(b: input, maxDepth: maxDepth)
        guard r.value(depth: 0) else { return false }
        r.whitespace()
        return r.i == input.count
    }

    private init(b: [UInt8], maxDepth: Int) {
        self.b = b
        self.maxDepth = maxDepth
    }

    private var peek: UInt8? { i < b.count ? b[i] : nil }

    private mutating func whitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func eat(_ c: Character) -> Bool {
        guard let p = peek, p == c.asciiValue else { return false }
        i += 1
        return true
    }

    private mutating func value(depth: Int) -> Bool {
        whitespace()
        guard let c = peek else { return false }
        switch c {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { return false }
            i += 1
            whitespace()
            if eat("}") { return true }
            while true {
                whitespace()
                guard peek == UInt8(ascii: "\""), string() else { return false }
                whitespace()
                guard eat(":"), value(depth: depth + 1) else { return false }
                whitespace()
                if eat(",") { continue }
                return eat("}")
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { return false }
            i += 1
            whitespace()
            if eat("]") { return true }
            while true {
                guard value(depth: depth + 1) else { return false }
                whitespace()
                if eat(",") { continue }
                return eat("]")
            }
        case UInt8(ascii: "\""):
            return string()
        case UInt8(ascii: "t"):
            return literal("true")
        case UInt8(ascii: "f"):
            return literal("false")
        case UInt8(ascii: "n"):
            return literal("null")
        default:
            return number()
        }
    }

    private mutating func literal(_ text: String) -> Bool {
        for c in text where !eat(c) { return false }
        return true
    }

    private static func digit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    private mutating func digits() -> Int {
        var count = 0
        while Self.digit(peek) {
            i += 1
            count += 1
        }
        return count
    }

    private mutating func number() -> Bool {
        _ = eat("-")
        if eat("0") {
            if Self.digit(peek) { return false }
        } else if digits() == 0 {
            return false
        }
        if eat("."), digits() == 0 { return false }
        if eat("e") || eat("E") {
            if !eat("+") { _ = eat("-") }
            if digits() == 0 { return false }
        }
        return true
    }

    private mutating func string() -> Bool {
        i += 1  // the opening quote
        while let c = peek {
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                return true
            case UInt8(ascii: "\\"):
                guard let e = peek else { return false }
                i += 1
                if "\"\\/bfnrt".utf8.contains(e) { continue }
                guard e == UInt8(ascii: "u") else { return false }
                for _ in 0..<4 {
                    guard let h = peek, "0123456789abcdefABCDEF".utf8.contains(h) else { return false }
                    i += 1
                }
            case 0..<0x20:
                return false
            case 0x20..<0x80:
                continue
            default:
                guard scalarFromUTF8(lead: c) else { return false }
            }
        }
        return false
    }

    /// Decodes the sequence whose lead byte `lead` was just consumed and checks the code point.
    private mutating func scalarFromUTF8(lead: UInt8) -> Bool {
        let length: Int
        var value: UInt32
        if lead & 0xE0 == 0xC0 {
            length = 2
            value = UInt32(lead & 0x1F)
        } else if lead & 0xF0 == 0xE0 {
            length = 3
            value = UInt32(lead & 0x0F)
        } else if lead & 0xF8 == 0xF0 {
            length = 4
            value = UInt32(lead & 0x07)
        } else {
            return false
        }
        for _ in 1..<length {
            guard let c = peek, c & 0xC0 == 0x80 else { return false }
            value = value << 6 | UInt32(c & 0x3F)
            i += 1
        }
        let shortest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        return value >= shortest && !(0xD800...0xDFFF).contains(value) && value <= 0x10FFFF
    }
}
