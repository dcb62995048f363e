/// A JSON object's members in document order.
///
/// Duplicates are kept rather than silently merged, because which one "wins" differs between JSON
/// implementations; lookups return the first, and `duplicateKey` lets a strict caller (the
/// configuration loader) report them.
///
/// Member names are compared scalar by scalar, as RFC 8259 §8.3 specifies, not with `String`'s
/// canonical equivalence: `"\u00e9"` and `"e\u0301"` are two different names, so an object holding
/// both has no duplicate and each lookup finds its own member.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The members in document order.
    public var members: [(key: String, value: JSONValue)]

    /// Creates an object from members in order.
    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    /// Creates an object from a literal, members in the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }

    /// Number of members, duplicates included.
    public var count: Int { members.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The member names in order, duplicates included.
    public var keys: [String] { members.map(\.key) }

    /// The value of the first member named `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        for member in members where JSONScanner.sameScalars(member.key, key) { return member.value }
        return nil
    }

    /// Appends a member (even if the name is already present).
    public mutating func append(key: String, value: JSONValue) {
        members.append((key: key, value: value))
    }

    /// The first name that occurs a second time (in document order of the repeat), or nil when all
    /// names are unique. Only this object is checked, not nested ones.
    public var duplicateKey: String? {
        if members.count <= 16 {
            // Small objects: a quadratic scan is cheaper than hashing.
            for j in members.indices {
                for k in 0..<j where JSONScanner.sameScalars(members[k].key, members[j].key) { return members[j].key }
            }
            return nil
        }
        var seen = Set<Name>(minimumCapacity: members.count)
        for member in members where !seen.insert(Name(member.key)).inserted { return member.key }
        return nil
    }

    /// Iterates the members in order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// Objects are equal when they have the same members in the same order (names compared scalar
    /// by scalar, values with `JSONValue`'s `==`).
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { JSONScanner.sameScalars($0.key, $1.key) && $0.value == $1.value }
    }

    /// A member name hashed and compared by its UTF-8 bytes (see `JSONScanner.sameScalars`), for
    /// duplicate sets.
    struct Name: Hashable {
        let text: String

        init(_ text: String) { self.text = text }

        static func == (lhs: Name, rhs: Name) -> Bool { JSONScanner.sameScalars(lhs.text, rhs.text) }

        func hash(into hasher: inout Hasher) {
            var copy = text  // withUTF8 is mutating; native strings are not actually copied
            copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}
