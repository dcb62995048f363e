/// HTTP header fields in the order they arrived. Names keep their original spelling; lookups are
/// case-insensitive (RFC 9110 §5.1). Duplicates are kept as separate entries.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in arrival order.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates headers from name/value pairs.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// Creates headers from a literal, for tests and responses.
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// Number of fields.
    public var count: Int { fields.count }

    /// Appends a field.
    public mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    /// Removes every field with this name (case-insensitive).
    public mutating func remove(name: String) {
        fields.removeAll { Self.equalsIgnoringCase($0.name, name) }
    }

    /// The first value for `name`, or nil.
    public subscript(name: String) -> String? {
        first(name: name)
    }

    /// The first value for `name` (case-insensitive), or nil.
    public func first(name: String) -> String? {
        for field in fields where Self.equalsIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// Every value for `name`, in order.
    public func values(name: String) -> [String] {
        fields.compactMap { Self.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// Whether any value of `name`, split on commas, contains `token` (case-insensitive), as for
    /// `Connection: keep-alive, Upgrade` (RFC 9110 §5.6.1 list syntax).
    public func contains(name: String, token: String) -> Bool {
        // Bytes, not Characters: this runs several times per WebSocket handshake.
        var value = ""
        for field in fields where Self.equalsIgnoringCase(field.name, name) {
            value = field.value
            let found = value.withUTF8 { v in
                token.utf8.withContiguousStorageIfAvailable { t in Self.listContains(UnsafeRawBufferPointer(v), UnsafeRawBufferPointer(t)) }
            }
            if found ?? false { return true }
            if found == nil, value.split(separator: ",").contains(where: { Self.equalsIgnoringCase(Self.trimmed($0), token) }) { return true }
        }
        return false
    }

    /// Whether the comma-separated list `list` has an element equal to `token` (ASCII case-insensitive,
    /// optional whitespace around elements).
    static func listContains(_ list: UnsafeRawBufferPointer, _ token: UnsafeRawBufferPointer) -> Bool {
        var found = false
        HTTPFieldLines.forEachListElement(list, skippingEmpty: false) { element in
            if !found && equalsIgnoringCase(element, token) { found = true }
        }
        return found
    }

    /// Every comma-separated token of every value of `name`, trimmed, empty ones dropped.
    public func tokens(name: String) -> [String] {
        var out: [String] = []
        for value in values(name: name) {
            for part in value.split(separator: ",") {
                let t = Self.trimmed(part)
                if !t.isEmpty { out.append(String(t)) }
            }
        }
        return out
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// Headers are equal when they hold the same fields in the same order (names compared exactly).
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// ASCII case-insensitive comparison; header names and tokens are ASCII.
    public static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        // Contiguous fast path (native strings); the generic zip below is several times slower.
        if let r = x.withContiguousStorageIfAvailable({ px in
            y.withContiguousStorageIfAvailable { py in equalsIgnoringCase(UnsafeRawBufferPointer(px), UnsafeRawBufferPointer(py)) }
        }), let result = r {
            return result
        }
        for (c, d) in zip(x, y) where c != d {
            if lowercase(c) != lowercase(d) { return false }
        }
        return true
    }

    /// ASCII case-insensitive comparison of two byte strings (header names, tokens, media types).
    public static func equalsIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] {
            if lowercase(a[i]) != lowercase(b[i]) { return false }
        }
        return true
    }

    @inline(__always)
    static func lowercase(_ c: UInt8) -> UInt8 {
        (c >= 65 && c <= 90) ? c | 0x20 : c
    }

    static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
