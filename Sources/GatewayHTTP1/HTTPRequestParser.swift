/// An incremental, sans-IO HTTP/1.x request parser (RFC 9112).
///
/// Feed it bytes as they arrive, in chunks of any size; it reports `.head`, `.body` pieces and `.end`
/// for each request through a callback, and handles keep-alive and pipelining: several requests in
/// one input are all parsed in one `feed` call unless the callback pauses.
///
/// Framing (RFC 9112 §6): `Content-Length`, or `Transfer-Encoding: chunked` (chunk extensions are
/// ignored, trailer fields are validated and discarded), or no body when the request has neither.
///
/// Choices worth knowing:
/// - **Bare LF is rejected** (`.invalidLineTerminator`, 400); every line must end in CRLF. RFC 9112
///   §2.2 allows either; disagreement between two parsers on line endings (particularly in chunk
///   lines) is a classic request-smuggling vector, and every client a gateway serves sends CRLF.
///   Bare CR is rejected as well (it is a control character wherever it appears).
/// - Empty lines before a request line are skipped (RFC 9112 §2.2 "SHOULD ignore at least one").
/// - `Host` is not required, even for HTTP/1.1; routing is the caller's business.
/// - Identical duplicate `Content-Length` values (`5, 5`, or two fields) are accepted as one.
/// - A head is copied into an internal buffer only when it spans several `feed` calls; when it arrives
///   whole it is parsed straight from the input. Body pieces are never copied.
///
/// After an error the parser stays failed: every later `feed` throws the same error. Answer with
/// `HTTPResponseWriter.writeError(_:into:)` and close the connection.
public struct HTTPRequestParser {
    /// Where the parser is within the current request.
    enum State {
        /// Scanning a head (possibly nothing buffered yet).
        case head
        /// Everything of the request is parsed; `.end` still has to be reported (e.g. after a pause).
        case endPending
        /// Reading a `Content-Length` body.
        case fixedBody(remaining: Int)
        /// Reading a chunk-size line (size digits, then extensions); see the `chunk*` properties.
        case chunkLine
        /// Saw the CR of a chunk-size line; expecting LF.
        case chunkLineLF(size: Int)
        /// Reading chunk data.
        case chunkData(remaining: Int)
        /// Expecting the CR after chunk data.
        case chunkDataCR
        /// Expecting the LF after chunk data.
        case chunkDataLF
        /// Scanning the trailer section after the last chunk.
        case trailers
    }

    /// The limits this parser enforces.
    public let limits: HTTPParserLimits

    var state: State = .head
    /// Set once an error was thrown; every later `feed` rethrows it.
    var failure: HTTPParseError?

    // Field-section scanner (a head, or a trailer section); see HTTPRequestParser+Section.swift.
    /// Bytes of an incomplete section, kept across `feed` calls.
    var section: [UInt8] = []
    /// Offset in the section where the current line starts.
    var lineStart = 0
    /// Whether the start line is done (always true for a trailer section).
    var sawStartLine = false
    /// Completed field lines in the section.
    var fieldLines = 0

    // Chunked body; see HTTPRequestParser+Chunked.swift.
    /// Body bytes announced so far by chunk sizes, for the cumulative body limit.
    var bodyBytes = 0
    /// The chunk size being parsed.
    var chunkSize = 0
    /// Hex digits seen in the current chunk-size line.
    var chunkDigits = 0
    /// Bytes of the current chunk-size line (size and extensions), excluding CRLF.
    var chunkLineBytes = 0
    /// Whether the current chunk-size line is past the size, in the extensions.
    var inChunkExtension = false

    /// Sections up to this capacity keep their buffer between requests; larger ones are freed so an
    /// idle connection does not pin a buffer sized for its largest head.
    static let retainedSectionCapacity = 4096

    /// Creates a parser.
    /// - Parameter limits: size limits; the defaults are documented on `HTTPParserLimits`.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
    }

    /// Whether no part of a request is buffered or in progress: a read timeout that fires now is an
    /// idle keep-alive connection, not a slow request. False after an error.
    public var isIdle: Bool {
        guard failure == nil, case .head = state else { return false }
        return section.isEmpty
    }

    /// Feeds bytes and reports the events they complete, in order.
    ///
    /// - Parameters:
    ///   - input: the bytes that arrived. They are not retained: what the parser must keep (a partial
    ///     head or trailer section) it copies, so consumed bytes are never needed again.
    ///   - onEvent: called for each event. The `.body` pointer aliases `input` and is valid only
    ///     during the call. Return `.pause` to stop right after this event.
    /// - Returns: how many bytes of `input` were consumed. Fewer than `input.count` only when
    ///   `onEvent` returned `.pause`; feed the rest later (an empty input is fine when nothing is left,
    ///   e.g. to get the `.end` of a bodiless request after pausing on its `.head`).
    /// - Throws: the first protocol error; the parser then stays failed.
    public mutating func feed(
        _ input: UnsafeRawBufferPointer,
        _ onEvent: (HTTPParserEvent) -> HTTPParserAction
    ) throws(HTTPParseError) -> Int {
        if let failure { throw failure }
        do throws(HTTPParseError) {
            return try run(input, onEvent)
        } catch {
            failure = error
            state = .head
            section = []
            throw error
        }
    }

    /// The state loop behind `feed`.
    mutating func run(
        _ input: UnsafeRawBufferPointer,
        _ onEvent: (HTTPParserEvent) -> HTTPParserAction
    ) throws(HTTPParseError) -> Int {
        let count = input.count
        var i = 0
        while true {
            switch state {
            case .head:
                guard i < count else { return i }
                guard case .complete(let start, let end) = try scanSection(input, from: i) else { return count }
                let head = try finishHead(input, start: start, end: end)
                i = end
                if onEvent(.head(head)) == .pause { return i }

            case .endPending:
                state = .head
                if onEvent(.end) == .pause { return i }

            case .fixedBody(let remaining):
                guard i < count else { return i }
                let take = min(remaining, count - i)
                state = take == remaining ? .endPending : .fixedBody(remaining: remaining - take)
                let piece = UnsafeRawBufferPointer(rebasing: input[i..<(i + take)])
                i += take
                if onEvent(.body(piece)) == .pause { return i }

            case .chunkLine:
                guard i < count else { return i }
                i = try scanChunkLine(input, from: i)

            case .chunkLineLF(let size):
                guard i < count else { return i }
                guard input[i] == HTTPBytes.lf else { throw .invalidLineTerminator }
                i += 1
                if size == 0 {
                    beginSection(startLine: false)
                    state = .trailers
                } else {
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                guard i < count else { return i }
                let take = min(remaining, count - i)
                state = take == remaining ? .chunkDataCR : .chunkData(remaining: remaining - take)
                let piece = UnsafeRawBufferPointer(rebasing: input[i..<(i + take)])
                i += take
                if onEvent(.body(piece)) == .pause { return i }

            case .chunkDataCR:
                guard i < count else { return i }
                guard input[i] == HTTPBytes.cr else { throw .invalidChunkTerminator }
                i += 1
                state = .chunkDataLF

            case .chunkDataLF:
                guard i < count else { return i }
                guard input[i] == HTTPBytes.lf else { throw .invalidChunkTerminator }
                i += 1
                beginChunkLine()

            case .trailers:
                guard i < count else { return i }
                guard case .complete(let start, let end) = try scanSection(input, from: i) else { return count }
                try finishTrailers(input, start: start, end: end)
                i = end
                state = .endPending
            }
        }
    }
}

/// The parser belongs to one connection on one event loop; it is not meant to cross threads.
@available(*, unavailable)
extension HTTPRequestParser: Sendable {}
