/// Why a client message is not a usable `json` envelope. Every case becomes a `bad_message` error
/// reply (DESIGN.md §3); `description` is the reply's human-readable `message`.
public enum JSONEnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The envelope members the gateway interprets.
    public enum Member: String, Sendable {
        /// `cmd`: the command name.
        case cmd
        /// `id`: the client's request id, echoed back.
        case id
        /// `data`: the body forwarded to the backend.
        case data
    }

    /// The message is not valid JSON (anywhere, including members the gateway ignores).
    case invalidJSON(JSONError)
    /// The message is valid JSON but not an object.
    case notAnObject
    /// The object has no `cmd` member.
    case missingCmd
    /// `cmd` is present but not a string; the offset is its value.
    case cmdNotString(offset: Int)
    /// `cmd` is the empty string; the offset is its value.
    case emptyCmd(offset: Int)
    /// `id` is present but neither a string nor a number; the offset is its value.
    case idNotStringOrNumber(offset: Int)
    /// `cmd`, `id` or `data` occurs twice; the offset is the second name. Rejected rather than
    /// resolved because JSON libraries disagree on which one wins, so client and gateway could
    /// silently act on different values.
    case duplicateKey(Member, offset: Int)

    /// A one-line explanation for the client.
    public var description: String {
        switch self {
        case .invalidJSON(let error): return "invalid JSON: \(error)"
        case .notAnObject: return "message is not a JSON object"
        case .missingCmd: return "missing \"cmd\""
        case .cmdNotString(let offset): return "\"cmd\" must be a string (offset \(offset))"
        case .emptyCmd(let offset): return "\"cmd\" must not be empty (offset \(offset))"
        case .idNotStringOrNumber(let offset): return "\"id\" must be a string or a number (offset \(offset))"
        case .duplicateKey(let member, let offset): return "duplicate \"\(member.rawValue)\" at offset \(offset)"
        }
    }
}
