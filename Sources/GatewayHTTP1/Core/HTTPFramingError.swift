/// What the shared parsing core can find wrong with the bytes, before they mean a request or a
/// response. Each front end maps these to its public error (`HTTPParseError`, `HTTPResponseParseError`),
/// which keeps the cases and statuses its users rely on.
enum HTTPFramingError: Error, Equatable {
    /// The start line (or a chunk-size line, see `chunkLineTooLong`) is longer than its limit.
    case startLineTooLong(limit: Int)
    /// A field section is larger than its limit.
    case sectionTooLarge(limit: Int)
    /// A field section has more field lines than its limit.
    case tooManyFields(limit: Int)
    /// The HTTP-version is not `HTTP/` DIGIT `.` DIGIT.
    case invalidVersion
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    case unsupportedVersion(HTTPVersion)
    /// A line ending the policy does not accept (a bare LF for requests, a CR without LF anywhere).
    case invalidLineTerminator
    /// A start line arrived where none may start (a response nobody asked for).
    case unexpectedStartLine
    /// A field name is empty or not a token, or the line has no colon.
    case invalidFieldName(index: Int)
    /// Whitespace between a field name and its colon, where the policy rejects it.
    case whitespaceBeforeColon(index: Int)
    /// A field line starts with whitespace (obsolete line folding, RFC 9112 §5.2).
    case obsoleteLineFolding(index: Int)
    /// A field value holds a control character other than HTAB.
    case invalidFieldValue(name: String)
    /// The sum of the chunk sizes exceeds the body limit.
    case bodyTooLarge(limit: Int)
    /// A chunk size is missing, not hexadecimal, or overflows `Int`.
    case invalidChunkSize
    /// A chunk extension holds a control character.
    case invalidChunkExtension
    /// A chunk-size line (size and extensions) is longer than the start-line limit.
    case chunkLineTooLong(limit: Int)
    /// Chunk data not followed by a line ending.
    case invalidChunkTerminator
}

/// A front end's public error type, as the shared core sees it: most of the core's findings have
/// a case of the same name there (the enum cases satisfy these requirements), and each front end
/// names the few that differ. `init(_:)` is then the one mapping for both.
protocol HTTPFramingFailure: Error {
    /// The start line's limit was crossed (the request line, or the status line).
    static func startLineTooLong(limit: Int) -> Self
    /// A start line where none may start.
    static var unexpectedStartLine: Self { get }
    /// Whitespace between a field name and its colon.
    static func whitespaceBeforeColon(index: Int) -> Self
    static func headTooLarge(limit: Int) -> Self
    static func tooManyHeaders(limit: Int) -> Self
    static var invalidVersion: Self { get }
    static func unsupportedVersion(_ version: HTTPVersion) -> Self
    static var invalidLineTerminator: Self { get }
    static func invalidHeaderName(index: Int) -> Self
    static func obsoleteLineFolding(index: Int) -> Self
    static func invalidHeaderValue(name: String) -> Self
    static func bodyTooLarge(limit: Int) -> Self
    static var invalidChunkSize: Self { get }
    static var invalidChunkExtension: Self { get }
    static func chunkLineTooLong(limit: Int) -> Self
    static var invalidChunkTerminator: Self { get }
}

extension HTTPFramingFailure {
    /// The front end's name for what the shared core found.
    init(_ error: HTTPFramingError) {
        switch error {
        case .startLineTooLong(let limit): self = .startLineTooLong(limit: limit)
        case .sectionTooLarge(let limit): self = .headTooLarge(limit: limit)
        case .tooManyFields(let limit): self = .tooManyHeaders(limit: limit)
        case .invalidVersion: self = .invalidVersion
        case .unsupportedVersion(let version): self = .unsupportedVersion(version)
        case .invalidLineTerminator: self = .invalidLineTerminator
        case .unexpectedStartLine: self = .unexpectedStartLine
        case .invalidFieldName(let index): self = .invalidHeaderName(index: index)
        case .whitespaceBeforeColon(let index): self = .whitespaceBeforeColon(index: index)
        case .obsoleteLineFolding(let index): self = .obsoleteLineFolding(index: index)
        case .invalidFieldValue(let name): self = .invalidHeaderValue(name: name)
        case .bodyTooLarge(let limit): self = .bodyTooLarge(limit: limit)
        case .invalidChunkSize: self = .invalidChunkSize
        case .invalidChunkExtension: self = .invalidChunkExtension
        case .chunkLineTooLong(let limit): self = .chunkLineTooLong(limit: limit)
        case .invalidChunkTerminator: self = .invalidChunkTerminator
        }
    }
}
