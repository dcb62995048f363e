/// Strict RFC 8259 validation without building values.
///
/// The validator is iterative: nesting is tracked in a bit stack (one bit per open container, set for
/// an object) that lives in a temporary stack allocation sized from the depth limit, so validating
/// does not touch the heap for any sane limit and cannot overflow the call stack whatever the input.
/// Strings take an 8-bytes-at-a-time fast path over plain ASCII.
public enum JSONValidator {
    /// The default nesting limit shared by every entry point of this module.
    ///
    /// 256 levels is far more than any gateway message or configuration needs (they nest fewer than
    /// ten levels), while a `JSONValue` tree that deep is still safe to destroy, compare and serialize:
    /// those operations recurse once per level, and Swift offers no way to make them iterative.
    /// Validation and tree parsing use the same default, so they agree on every input.
    public static let defaultMaxDepth = 256

    /// Whether `bytes` is exactly one JSON value (any type) with optional surrounding whitespace.
    /// - Parameter maxDepth: the most arrays/objects that may be open at once; see `defaultMaxDepth`.
    public static func isValid(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) -> Bool {
        do {
            try validate(bytes, maxDepth: maxDepth)
            return true
        } catch {
            return false
        }
    }

    /// Whether the UTF-8 of `string` is one JSON value; see `isValid(_:maxDepth:)` for bytes.
    public static func isValid(_ string: String, maxDepth: Int = defaultMaxDepth) -> Bool {
        var copy = string
        return copy.withUTF8 { isValid(UnsafeRawBufferPointer($0), maxDepth: maxDepth) }
    }

    /// Checks that `bytes` is exactly one JSON value with optional surrounding whitespace.
    /// - Parameter maxDepth: the most arrays/objects that may be open at once; see `defaultMaxDepth`.
    /// - Throws: the first problem, with its byte offset.
    public static func validate(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONError) {
        var i = try skipValue(bytes, from: 0, depth: 0, maxDepth: maxDepth)
        JSONScanner.skipWhitespace(bytes, &i)
        guard i == bytes.count else { throw JSONError(.trailingCharacters, at: i) }
    }

    /// Validates one value that starts at or after `start` (leading whitespace is skipped) and returns
    /// the index just past it. `depth` is how many containers are already open around it, so a value
    /// nested inside a larger document is held to the document's limit.
    static func skipValue(
        _ p: UnsafeRawBufferPointer, from start: Int, depth: Int, maxDepth: Int
    ) throws(JSONError) -> Int {
        var i = start
        JSONScanner.skipWhitespace(p, &i)
        guard i < p.count else { throw JSONError(.unexpectedEnd(expected: .value), at: i) }
        switch p[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            break
        case UInt8(ascii: "\""):
            return try JSONScanner.scanString(p, from: i).end
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try JSONScanner.scanNumber(p, from: i)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return try JSONScanner.scanLiteral(p, from: i).end
        case let other:
            throw JSONError(.unexpectedCharacter(other, expected: .value), at: i)
        }
        // Each open container needs one byte of input, so the remaining input bounds the stack too.
        let levels = maxDepth > depth ? min(maxDepth - depth, p.count - i) : 0
        return try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: levels / 64 + 1) {
            (kinds) throws(JSONError) -> Int in
            kinds.initialize(repeating: 0)  // a few words; every bit is also written before it is read
            return try skipContainer(p, from: i, depth: depth, maxDepth: maxDepth, kinds: kinds)
        }
    }

    /// The iterative core: `p[start]` is `{` or `[`. `kinds` holds one bit per open container.
    private static func skipContainer(
        _ p: UnsafeRawBufferPointer, from start: Int, depth: Int, maxDepth: Int,
        kinds: UnsafeMutableBufferPointer<UInt64>
    ) throws(JSONError) -> Int {
        let n = p.count
        var i = start
        var level = 0  // containers opened since `start`
        outer: while true {
            // A value starts at or after i.
            JSONScanner.skipWhitespace(p, &i)
            guard i < n else { throw JSONError(.unexpectedEnd(expected: .value), at: i) }
            let b = p[i]
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth + level < maxDepth, level >> 6 < kinds.count else {
                    throw JSONError(.depthExceeded(limit: maxDepth), at: i)
                }
                let isObject = b == UInt8(ascii: "{")
                let word = level >> 6
                let bit: UInt64 = 1 << UInt64(level & 63)
                kinds[word] = isObject ? kinds[word] | bit : kinds[word] & ~bit
                level += 1
                i += 1
                JSONScanner.skipWhitespace(p, &i)
                guard i < n else { throw JSONError(.unexpectedEnd(expected: isObject ? .key : .value), at: i) }
                if p[i] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    level -= 1
                    i += 1
                } else if isObject {
                    i = try skipMemberName(p, from: i)
                    continue outer
                } else {
                    continue outer
                }
            case UInt8(ascii: "\""):
                i = try JSONScanner.scanString(p, from: i).end
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                i = try JSONScanner.scanNumber(p, from: i)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                i = try JSONScanner.scanLiteral(p, from: i).end
            default:
                throw JSONError(.unexpectedCharacter(b, expected: .value), at: i)
            }
            // A value just ended: close containers until one continues with a comma.
            while level > 0 {
                let top = level - 1
                let inObject = kinds[top >> 6] & (1 << UInt64(top & 63)) != 0
                let expected: JSONError.Expectation = inObject ? .commaOrEndOfObject : .commaOrEndOfArray
                JSONScanner.skipWhitespace(p, &i)
                guard i < n else { throw JSONError(.unexpectedEnd(expected: expected), at: i) }
                let c = p[i]
                if c == UInt8(ascii: ",") {
                    i += 1
                    if inObject {
                        JSONScanner.skipWhitespace(p, &i)
                        i = try skipMemberName(p, from: i)
                    }
                    continue outer
                }
                guard c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw JSONError(.unexpectedCharacter(c, expected: expected), at: i)
                }
                level -= 1
                i += 1
            }
            return i
        }
    }

    /// Validates `"name" :` at `i` (whitespace before it already skipped) and returns the index after
    /// the colon.
    static func skipMemberName(_ p: UnsafeRawBufferPointer, from start: Int) throws(JSONError) -> Int {
        guard start < p.count else { throw JSONError(.unexpectedEnd(expected: .key), at: start) }
        guard p[start] == UInt8(ascii: "\"") else {
            throw JSONError(.unexpectedCharacter(p[start], expected: .key), at: start)
        }
        return try skipColon(p, from: JSONScanner.scanString(p, from: start).end)
    }

    /// Skips whitespace and a `:`, and returns the index after the colon.
    static func skipColon(_ p: UnsafeRawBufferPointer, from start: Int) throws(JSONError) -> Int {
        var i = start
        JSONScanner.skipWhitespace(p, &i)
        guard i < p.count else { throw JSONError(.unexpectedEnd(expected: .colon), at: i) }
        guard p[i] == UInt8(ascii: ":") else {
            throw JSONError(.unexpectedCharacter(p[i], expected: .colon), at: i)
        }
        return i + 1
    }
}
