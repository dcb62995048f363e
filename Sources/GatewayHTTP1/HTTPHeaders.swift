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
        fields.removeAll { Self.sameName($0.name, name) }
    }

    /// The first value for `name`, or nil.
    public subscript(name: String) -> String? {
        first(name: name)
    }

    /// The first value for `name` (case-insensitive), or nil.
    public func first(name: String) -> String? {
        for field in fields where Self.sameName(field.name, name) { return field.value }
        return nil
    }

    /// Every value for `name`, in order.
    public func values(name: String) -> [String] {
        var out: [String] = []
        for field in fields where Self.sameName(field.name, name) { out.append(field.value) }
        return out
    }

    /// Whether two field names are equal ignoring ASCII case. The lengths are compared first (a
    /// stored count for native strings), so the fields a lookup passes over cost a few
    /// instructions each: a handshake makes a dozen lookups over a dozen fields.
    @inline(__always)
    static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && equalsIgnoringCase(a, b)
    }

    /// Whether any value of `name`, split on commas, contains `token` (case-insensitive), as for
    /// `Connection: keep-alive, Upgrade` (RFC 9110 §5.6.1 list syntax).
    public func contains(name: String, token: String) -> Bool {
        for field in fields where Self.sameName(field.name, name) {
            if Self.listContains(field.value, token: token) { return true }
        }
        return false
    }

    /// Whether the list value `value` (comma-separated, RFC 9110 §5.6.1) has an element equal to
    /// `token`, ignoring ASCII case and the whitespace around elements.
    public static func listContains(_ value: String, token: String) -> Bool {
        // Bytes, not Characters: this runs several times per WebSocket handshake.
        var value = value
        let found = value.withUTF8 { v in
            token.utf8.withContiguousStorageIfAvailable { t in listContains(UnsafeRawBufferPointer(v), UnsafeRawBufferPointer(t)) }
        }
        if let found { return found }
        return value.split(separator: ",").contains(where: { equalsIgnoringCase(trimmed($0), token) })
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
        for field in fields where Self.sameName(field.name, name) { Self.appendListElements(of: field.value, to: &out) }
        return out
    }

    /// Appends the elements of the list value `value`, trimmed, empty ones dropped.
    public static func appendListElements(of value: String, to out: inout [String]) {
        for part in value.split(separator: ",") {
            let t = trimmed(part)
            if !t.isEmpty { out.append(String(t)) }
        }
    }

    /// `text` without leading and trailing spaces and tabs; `text` itself (no copy) when it has none,
    /// as a parsed field value never does (the parser strips OWS).
    public static func trimmed(_ text: String) -> String {
        let u = text.utf8
        guard let f = u.first, let l = u.last else { return text }
        if f != 0x20 && f != 0x09 && l != 0x20 && l != 0x09 { return text }
        return String(trimmed(text[...]))
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
    ///
    /// Eight bytes at a time (`lowercased(word:)`), then byte by byte: a handshake compares a dozen
    /// names of up to 24 bytes.
    public static func equalsIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        var i = 0
        while i + 8 <= n {
            let x = pa.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let y = pb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if x != y && lowercased(word: x) != lowercased(word: y) { return false }
            i += 8
        }
        while i < n {
            let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
            if x != y && lowercase(x) != lowercase(y) { return false }
            i += 1
        }
        return true
    }

    /// ASCII case-insensitive comparison of bytes with a lowercase ASCII literal (a header name or
    /// token the caller looks for).
    @inline(__always)
    public static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        equalsIgnoringCase(bytes, UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    /// Each of the eight bytes of `w` lowercased as `lowercase` does (ASCII `A`–`Z` only; bytes
    /// with the high bit set are left alone), without a branch per byte.
    @inline(__always)
    static func lowercased(word w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let low7 = w & ~high
        // A byte's high bit in `geA` is set when its low 7 bits are >= 'A', in `gtZ` when > 'Z'.
        let geA = low7 &+ (0x80 - 0x41) &* ones
        let gtZ = low7 &+ (0x80 - 0x5B) &* ones
        let upper = geA & ~gtZ & ~w & high
        return w | (upper >> 2)
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
