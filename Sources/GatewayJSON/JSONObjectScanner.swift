/// One top-level member of an object read by `JSONObjectScanner`: byte ranges into the input.
public struct JSONMember: Sendable, Equatable {
    /// The name's contents without the quotes, as in the input (escapes not decoded).
    public var name: Range<Int>
    /// Whether the name contains escapes (then `named(_:in:)` decodes before comparing).
    public var nameHasEscapes: Bool
    /// The value exactly as in the input, without surrounding whitespace.
    public var value: Range<Int>

    /// Whether the decoded name is exactly the ASCII `target`, compared scalar by scalar as
    /// `JSONObject`'s lookups compare (so `"\u0065xp"` is `exp`).
    public func named(_ target: StaticString, in p: UnsafeRawBufferPointer) -> Bool {
        if !nameHasEscapes {
            guard name.count == target.utf8CodeUnitCount, name.upperBound <= p.count else { return false }
            let t = target.utf8Start
            for k in 0..<name.count where p[name.lowerBound + k] != t[k] { return false }
            return true
        }
        return JSONScanner.decodedName(p, name.lowerBound, name.upperBound, equals: target)
    }
}

/// Reads the few members a caller needs from a small JSON object in place, without building a
/// `JSONValue` tree: one validating pass that hands out byte ranges, and Strings only for the values
/// the caller decodes (the token claims checked at connect: a header and a payload per handshake).
///
/// Acceptance is exactly `JSONValue.parse(_:maxDepth:)`'s (the same scanner, the object counting as
/// level 1), and lookups that take the first member of a name agree with `JSONObject`'s subscript.
public enum JSONObjectScanner {
    /// Validates that `bytes` is exactly one JSON value with optional surrounding whitespace, and when
    /// it is an object calls `body` with each top-level member in document order, duplicates included.
    /// - Returns: whether the value is an object (false: valid JSON of another type; `body` not called).
    /// - Throws: the first syntax problem. Members before it have been passed to `body` already, so a
    ///   caller keeps what it found only when this returns.
    public static func forEachMember(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValidator.defaultMaxDepth, _ body: (JSONMember) -> Void
    ) throws(JSONError) -> Bool {
        try withoutActuallyEscaping(body) { (body) throws(JSONError) -> Bool in
            var visitor = Visitor(body: body)
            return try JSONScanner.scanObject(bytes, maxDepth: maxDepth, &visitor)
        }
    }

    private struct Visitor: JSONMemberVisitor {
        let body: (JSONMember) -> Void

        mutating func member(_ p: UnsafeRawBufferPointer, at start: Int, maxDepth: Int) throws(JSONError) -> Int {
            guard start < p.count else { throw JSONError(.unexpectedEnd(expected: .key), at: start) }
            guard p[start] == UInt8(ascii: "\"") else {
                throw JSONError(.unexpectedCharacter(p[start], expected: .key), at: start)
            }
            let (nameEnd, nameHasEscapes) = try JSONScanner.scanString(p, from: start)
            var i = try JSONValidator.skipColon(p, from: nameEnd)
            JSONScanner.skipWhitespace(p, &i)
            let valueStart = i
            i = try JSONValidator.skipValue(p, from: i, depth: 1, maxDepth: maxDepth)
            body(JSONMember(name: (start + 1)..<(nameEnd - 1), nameHasEscapes: nameHasEscapes, value: valueStart..<i))
            return i
        }
    }

    // MARK: Values
    //
    // These read a value range that `forEachMember` (or `forEachElement`) handed out, so the input is
    // known to be valid JSON there; they check bounds anyway and never trap.

    /// Whether the value is a string.
    public static func isString(_ p: UnsafeRawBufferPointer, _ value: Range<Int>) -> Bool {
        value.count >= 2 && value.upperBound <= p.count && p[value.lowerBound] == UInt8(ascii: "\"")
    }

    /// The decoded string (escapes resolved), or nil when the value is not a string.
    public static func string(_ p: UnsafeRawBufferPointer, _ value: Range<Int>) -> String? {
        guard isString(p, value) else { return nil }
        let start = value.lowerBound + 1, end = value.upperBound - 1
        return JSONScanner.decodeString(p, start, end, hasEscapes: p[start..<end].contains(UInt8(ascii: "\\")))
    }

    /// Whether the value is a string without escapes whose bytes are exactly `utf8`. A false answer
    /// does not mean the decoded string differs when the value has escapes: decode it then.
    public static func rawString(_ p: UnsafeRawBufferPointer, _ value: Range<Int>, equals utf8: UnsafeRawBufferPointer) -> Bool {
        guard isString(p, value), value.count - 2 == utf8.count else { return false }
        let start = value.lowerBound + 1
        for k in 0..<utf8.count where p[start + k] != utf8[k] { return false }
        // Equal bytes are the same string only if none of them starts an escape.
        return !utf8.contains(UInt8(ascii: "\\"))
    }

    /// The number as a finite `Double`, or nil when the value is not a number: what
    /// `JSONValue.doubleValue` answers for the same literal.
    public static func double(_ p: UnsafeRawBufferPointer, _ value: Range<Int>) -> Double? {
        guard !value.isEmpty, value.upperBound <= p.count else { return nil }
        let first = p[value.lowerBound]
        guard first == UInt8(ascii: "-") || JSONScanner.isDigit(first) else { return nil }
        // Integers of up to 15 digits are exact as a Double: no text, no strtod (the common case).
        let negative = first == UInt8(ascii: "-")
        let digits = negative ? (value.lowerBound + 1)..<value.upperBound : value
        if digits.count <= 15 {
            var n = 0
            var integral = true
            for i in digits {
                guard JSONScanner.isDigit(p[i]) else { integral = false; break }
                n = n * 10 + Int(p[i] &- UInt8(ascii: "0"))
            }
            if integral { return negative ? -Double(n) : Double(n) }
        }
        guard let d = Double(String(decoding: UnsafeRawBufferPointer(rebasing: p[value]), as: UTF8.self)), d.isFinite
        else { return nil }
        return d
    }

    /// Calls `body` with each element of the array value, in order.
    /// - Returns: whether the value is an array (false: `body` not called).
    public static func forEachElement(_ p: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void) -> Bool {
        guard !value.isEmpty, value.upperBound <= p.count, p[value.lowerBound] == UInt8(ascii: "[") else { return false }
        // Only the array's own bytes: nothing past its `]` is read.
        let a = UnsafeRawBufferPointer(rebasing: p[..<value.upperBound])
        var i = value.lowerBound + 1
        JSONScanner.skipWhitespace(a, &i)
        guard i < a.count, a[i] != UInt8(ascii: "]") else { return true }
        while true {
            // Validated already: no limit applies twice, and an error cannot happen (stop if it did).
            guard let end = try? JSONValidator.skipValue(a, from: i, depth: 0, maxDepth: a.count - i) else { return true }
            body(i..<end)
            i = end
            JSONScanner.skipWhitespace(a, &i)
            guard i < a.count, a[i] == UInt8(ascii: ",") else { return true }
            i += 1
            JSONScanner.skipWhitespace(a, &i)
        }
    }
}
