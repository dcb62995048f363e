/// Builds a `JSONValue` without recursion: open containers live on an explicit stack of frames,
/// so the call stack stays flat however deep the input nests (the depth limit still applies).
struct JSONTreeParser {
    /// One array or object under construction.
    private struct Frame {
        var isObject: Bool
        var elements: [JSONValue] = []
        var members: [(key: String, value: JSONValue)] = []
        /// The name of the member whose value is being parsed.
        var key = ""
        /// Names seen so far, only when duplicates are rejected; compared scalar by scalar like
        /// `JSONObject.duplicateKey`, not by `String`'s canonical equivalence.
        var seen: Set<JSONObject.Name>? = nil
    }

    private let p: UnsafeRawBufferPointer
    private let maxDepth: Int
    private let rejectDuplicateKeys: Bool
    private var stack: [Frame] = []

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int, rejectDuplicateKeys: Bool) {
        p = bytes
        self.maxDepth = maxDepth
        self.rejectDuplicateKeys = rejectDuplicateKeys
    }

    mutating func parse() throws(JSONError) -> JSONValue {
        let n = p.count
        var i = 0
        outer: while true {
            // A value starts at or after i.
            JSONScanner.skipWhitespace(p, &i)
            guard i < n else { throw JSONError(.unexpectedEnd(expected: .value), at: i) }
            var value: JSONValue
            let b = p[i]
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard stack.count < maxDepth else { throw JSONError(.depthExceeded(limit: maxDepth), at: i) }
                let isObject = b == UInt8(ascii: "{")
                i += 1
                JSONScanner.skipWhitespace(p, &i)
                guard i < n else { throw JSONError(.unexpectedEnd(expected: isObject ? .key : .value), at: i) }
                if p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    i += 1
                    value = isObject ? .object(JSONObject()) : .array([])
                } else {
                    var frame = Frame(isObject: isObject)
                    if isObject {
                        if rejectDuplicateKeys { frame.seen = [] }
                        i = try readMemberName(at: i, into: &frame)
                    }
                    stack.append(frame)
                    continue outer
                }
            case UInt8(ascii: "\""):
                let (end, hasEscapes) = try JSONScanner.scanString(p, from: i)
                value = .string(JSONScanner.decodeString(p, i + 1, end - 1, hasEscapes: hasEscapes))
                i = end
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let end = try JSONScanner.scanNumber(p, from: i)
                value = .number(String(decoding: UnsafeRawBufferPointer(rebasing: p[i..<end]), as: UTF8.self))
                i = end
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let (literal, end) = try JSONScanner.scanLiteral(p, from: i)
                value = literal.map(JSONValue.bool) ?? .null
                i = end
            default:
                throw JSONError(.unexpectedCharacter(b, expected: .value), at: i)
            }
            // A value just ended: add it to its container, closing containers that end here.
            while var frame = stack.popLast() {
                if frame.isObject {
                    frame.members.append((key: frame.key, value: value))
                } else {
                    frame.elements.append(value)
                }
                let expected: JSONError.Expectation = frame.isObject ? .commaOrEndOfObject : .commaOrEndOfArray
                JSONScanner.skipWhitespace(p, &i)
                guard i < n else { throw JSONError(.unexpectedEnd(expected: expected), at: i) }
                let c = p[i]
                if c == UInt8(ascii: ",") {
                    i += 1
                    if frame.isObject {
                        JSONScanner.skipWhitespace(p, &i)
                        i = try readMemberName(at: i, into: &frame)
                    }
                    stack.append(frame)
                    continue outer
                }
                guard c == (frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw JSONError(.unexpectedCharacter(c, expected: expected), at: i)
                }
                i += 1
                value = frame.isObject ? .object(JSONObject(frame.members)) : .array(frame.elements)
            }
            JSONScanner.skipWhitespace(p, &i)
            guard i == n else { throw JSONError(.trailingCharacters, at: i) }
            return value
        }
    }

    /// Reads `"name" :` at `start` into `frame.key` and returns the index after the colon.
    private func readMemberName(at start: Int, into frame: inout Frame) throws(JSONError) -> Int {
        guard start < p.count else { throw JSONError(.unexpectedEnd(expected: .key), at: start) }
        guard p[start] == UInt8(ascii: "\"") else {
            throw JSONError(.unexpectedCharacter(p[start], expected: .key), at: start)
        }
        let (end, hasEscapes) = try JSONScanner.scanString(p, from: start)
        frame.key = JSONScanner.decodeString(p, start + 1, end - 1, hasEscapes: hasEscapes)
        if frame.seen?.insert(JSONObject.Name(frame.key)).inserted == false {
            throw JSONError(.duplicateKey(frame.key), at: start)
        }
        return try JSONValidator.skipColon(p, from: end)
    }
}
