import GatewayBuffers

/// A parsed JSON document, for configuration, admin requests and tests (the message hot path uses
/// `JSONEnvelope` and never builds one of these).
///
/// Numbers keep their exact literal text, so nothing is lost or rounded between parsing and
/// re-serializing; `intValue` and `doubleValue` convert on demand. Objects keep their members in
/// document order, duplicates included (see `JSONObject`).
///
/// Destroying, comparing and serializing a value recurse once per nesting level, so build deep trees
/// only through `parse`, whose depth limit keeps them shallow.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as the exact literal text (for example `-1.50e+3`); not normalized.
    case number(String)
    /// A string, with escapes decoded; a lone surrogate escape decodes to U+FFFD.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in document order.
    case object(JSONObject)

    /// Parses exactly one JSON value (any type) with optional surrounding whitespace (RFC 8259).
    /// - Parameters:
    ///   - bytes: the UTF-8 input.
    ///   - maxDepth: the most arrays/objects open at once; the default (256, see
    ///     `JSONValidator.defaultMaxDepth`) keeps the recursive operations on the result safe.
    ///   - rejectDuplicateKeys: throw `.duplicateKey` (with the offset of the second name) when an object
    ///     repeats a member name (names compared scalar by scalar after decoding escapes). Off by default
    ///     because RFC 8259 §4 only says names SHOULD be unique; the configuration loader leaves it off
    ///     and checks `JSONObject.duplicateKey` instead, so it can report every problem at once.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer,
        maxDepth: Int = JSONValidator.defaultMaxDepth,
        rejectDuplicateKeys: Bool = false
    ) throws(JSONError) -> JSONValue {
        var parser = JSONTreeParser(bytes, maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys)
        return try parser.parse()
    }

    /// Parses the UTF-8 of `string`; see `parse(_:maxDepth:rejectDuplicateKeys:)` for bytes.
    public static func parse(
        _ string: String,
        maxDepth: Int = JSONValidator.defaultMaxDepth,
        rejectDuplicateKeys: Bool = false
    ) throws(JSONError) -> JSONValue {
        var copy = string
        let result = copy.withUTF8 { utf8 in
            Result { () throws(JSONError) -> JSONValue in
                try parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys)
            }
        }
        return try result.get()
    }

    // MARK: Accessors

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The decoded string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, only for integral literals (no fraction, no exponent) that fit in `Int`:
    /// `42` and `-0` convert, `4.0`, `4e1` and `9223372036854775808` do not, so a configuration value
    /// is never silently truncated or rounded.
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        var result = 0
        var negative = false
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "-") && digits == 0 && !negative {
                negative = true
                continue
            }
            guard JSONScanner.isDigit(byte) else { return nil }
            let digit = Int(byte &- UInt8(ascii: "0"))
            let (times10, o1) = result.multipliedReportingOverflow(by: 10)
            // Accumulate negatively when needed so Int.min is reachable.
            let (next, o2) = negative
                ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !o1 && !o2 else { return nil }
            result = next
            digits += 1
        }
        return digits > 0 ? result : nil
    }

    /// The number as the nearest `Double`; nil when it is not a number or its magnitude overflows to
    /// infinity (JSON has no infinities, so a caller never receives one).
    public var doubleValue: Double? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The first member named `key`, if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// The element at `index`, if this is an array and the index is in range.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The compact JSON text of this value (no whitespace), for tests and logs.
    public func serialized() -> String {
        var buffer = ByteBuffer()
        JSONWriter.write(self, into: &buffer)
        return buffer.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
    }
}

extension JSONValue {
    /// Values are equal when they are the same JSON: the same type, numbers with the same literal
    /// text (so `1.0 != 1`), strings and member names with the same Unicode scalars, elements and
    /// members equal in order. Strings are not compared with Swift's canonical equivalence, under
    /// which `"\u{E9}"` and `"e\u{301}"` are equal although they serialize differently.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return JSONScanner.sameScalars(a, b)
        case (.string(let a), .string(let b)): return JSONScanner.sameScalars(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text, as `serialized()`.
    public var description: String { serialized() }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal is a JSON boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal is a JSON number with its decimal text.
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    /// A string literal is a JSON string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal is a JSON array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal is a JSON object, members in the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}
