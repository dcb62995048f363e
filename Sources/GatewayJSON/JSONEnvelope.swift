/// A client message in the gateway's `json` wire format (DESIGN.md §3):
/// `{"cmd": "chat.send", "id": "42", "data": {...}}`.
///
/// This is the per-message hot path, so `parse` makes a single pass over the bytes, builds no
/// `JSONValue` tree and allocates nothing but `cmd` (which does not allocate either when its UTF-8
/// fits in 15 bytes, Swift's small-string size). `id` and `data` are byte ranges into the input,
/// so the gateway echoes the id and forwards the data exactly as the client sent them.
public struct JSONEnvelope: Sendable, Equatable {
    /// The command, with escapes decoded (`"chat\u002esend"` is `chat.send`). Never empty.
    public var cmd: String
    /// The raw `id` token in the input: a string with its quotes, or a number; nil when absent.
    public var id: Range<Int>?
    /// The raw `data` value in the input, exactly its bytes without surrounding whitespace (inner
    /// whitespace kept); nil when absent. `null` is present, not absent.
    public var data: Range<Int>?

    /// Creates an envelope from its parts.
    public init(cmd: String, id: Range<Int>? = nil, data: Range<Int>? = nil) {
        self.cmd = cmd
        self.id = id
        self.data = data
    }

    /// Parses and fully validates one message.
    ///
    /// The message must be one JSON object (surrounding whitespace allowed) with a non-empty string
    /// `cmd`, an optional `id` that is a string or number, and an optional `data` of any type. Other
    /// members are ignored but validated like everything else. When the message is invalid JSON that
    /// error is reported, even if an envelope rule was broken earlier in the text.
    /// - Parameter maxDepth: the nesting limit, counting the envelope object as level 1; the same
    ///   default as `JSONValidator.defaultMaxDepth`, so a backend that parses `data` into a tree with a
    ///   default limit accepts whatever the gateway forwarded.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONValidator.defaultMaxDepth
    ) throws(JSONEnvelopeError) -> JSONEnvelope {
        let scan: Scan
        do {
            scan = try Scan(bytes, maxDepth: maxDepth)
        } catch {
            throw .invalidJSON(error)
        }
        guard scan.isObject else { throw .notAnObject }
        if let problem = scan.problem { throw problem }
        guard let cmd = scan.cmd else { throw .missingCmd }
        return JSONEnvelope(
            cmd: JSONScanner.decodeString(bytes, cmd.lowerBound, cmd.upperBound, hasEscapes: scan.cmdHasEscapes),
            id: scan.id,
            data: scan.data
        )
    }

    /// The validating pass. Envelope-rule problems are recorded (the first one wins) while scanning
    /// continues, so that a JSON syntax error later in the message takes precedence.
    private struct Scan: JSONMemberVisitor {
        var isObject = true
        var cmd: Range<Int>?  // contents of the cmd string, without quotes
        var cmdHasEscapes = false
        var id: Range<Int>?
        var data: Range<Int>?
        var problem: JSONEnvelopeError?
        var seen: (cmd: Bool, id: Bool, data: Bool) = (false, false, false)

        init(_ p: UnsafeRawBufferPointer, maxDepth: Int) throws(JSONError) {
            isObject = try JSONScanner.scanObject(p, maxDepth: maxDepth, &self)
        }

        /// Scans one `"name": value` member whose name starts at `start`; returns the index after it.
        mutating func member(_ p: UnsafeRawBufferPointer, at start: Int, maxDepth: Int) throws(JSONError) -> Int {
            guard start < p.count else { throw JSONError(.unexpectedEnd(expected: .key), at: start) }
            guard p[start] == UInt8(ascii: "\"") else {
                throw JSONError(.unexpectedCharacter(p[start], expected: .key), at: start)
            }
            let (nameEnd, nameHasEscapes) = try JSONScanner.scanString(p, from: start)
            let name = Self.member(named: p, start + 1, nameEnd - 1, hasEscapes: nameHasEscapes)
            var i = try JSONValidator.skipColon(p, from: nameEnd)
            JSONScanner.skipWhitespace(p, &i)
            let valueStart = i
            let first: UInt8 = i < p.count ? p[i] : 0
            switch name {
            case .cmd?:
                if first == UInt8(ascii: "\"") {
                    let (end, hasEscapes) = try JSONScanner.scanString(p, from: i)
                    if !seen.cmd {
                        cmd = (i + 1)..<(end - 1)
                        cmdHasEscapes = hasEscapes
                        if end - i == 2 { note(.emptyCmd(offset: valueStart)) }
                    }
                    i = end
                } else {
                    i = try JSONValidator.skipValue(p, from: i, depth: 1, maxDepth: maxDepth)
                    if !seen.cmd { note(.cmdNotString(offset: valueStart)) }
                }
            case .id?:
                if first == UInt8(ascii: "\"") {
                    i = try JSONScanner.scanString(p, from: i).end
                } else if first == UInt8(ascii: "-") || JSONScanner.isDigit(first) {
                    i = try JSONScanner.scanNumber(p, from: i)
                } else {
                    i = try JSONValidator.skipValue(p, from: i, depth: 1, maxDepth: maxDepth)
                    if !seen.id { note(.idNotStringOrNumber(offset: valueStart)) }
                }
                if !seen.id { id = valueStart..<i }
            case .data?:
                i = try JSONValidator.skipValue(p, from: i, depth: 1, maxDepth: maxDepth)
                if !seen.data { data = valueStart..<i }
            case nil:
                i = try JSONValidator.skipValue(p, from: i, depth: 1, maxDepth: maxDepth)
            }
            switch name {
            case .cmd?: if seen.cmd { note(.duplicateKey(.cmd, offset: start)) } else { seen.cmd = true }
            case .id?: if seen.id { note(.duplicateKey(.id, offset: start)) } else { seen.id = true }
            case .data?: if seen.data { note(.duplicateKey(.data, offset: start)) } else { seen.data = true }
            case nil: break
            }
            return i
        }

        private mutating func note(_ error: JSONEnvelopeError) {
            if problem == nil { problem = error }
        }

        /// Which envelope member a name (`start..<end`, validated, without quotes) denotes, if any.
        /// Escaped spellings such as `"\u0063md"` count: they are the same name to any JSON reader.
        private static func member(
            named p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, hasEscapes: Bool
        ) -> JSONEnvelopeError.Member? {
            if !hasEscapes {
                switch end - start {
                case 2 where p[start] == UInt8(ascii: "i") && p[start + 1] == UInt8(ascii: "d"):
                    return .id
                case 3 where p[start] == UInt8(ascii: "c") && p[start + 1] == UInt8(ascii: "m")
                    && p[start + 2] == UInt8(ascii: "d"):
                    return .cmd
                case 4 where p[start] == UInt8(ascii: "d") && p[start + 1] == UInt8(ascii: "a")
                    && p[start + 2] == UInt8(ascii: "t") && p[start + 3] == UInt8(ascii: "a"):
                    return .data
                default:
                    return nil
                }
            }
            if JSONScanner.decodedName(p, start, end, equals: "cmd") { return .cmd }
            if JSONScanner.decodedName(p, start, end, equals: "id") { return .id }
            if JSONScanner.decodedName(p, start, end, equals: "data") { return .data }
            return nil
        }
    }
}
