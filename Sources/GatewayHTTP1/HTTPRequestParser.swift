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
    /// The limits this parser enforces.
    public let limits: HTTPParserLimits

    /// Set once an error was thrown; every later `feed` rethrows it.
    var failure: HTTPParseError?
    /// The request side of the shared core: CRLF only, the request limits.
    let policy: HTTPFramingPolicy
    /// The message loop shared with the response parser.
    var reader = HTTPMessageReader()

    /// Creates a parser.
    /// - Parameter limits: size limits; the defaults are documented on `HTTPParserLimits`.
    public init(limits: HTTPParserLimits = .init()) {
        self.limits = limits
        self.policy = HTTPFramingPolicy(limits, request: true)
    }

    /// Whether no part of a request is buffered or in progress: a read timeout that fires now is an
    /// idle keep-alive connection, not a slow request. False after an error.
    public var isIdle: Bool {
        guard failure == nil, case .head = reader.state else { return false }
        return reader.scanner.isEmpty
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
            reader.close(discarding: true)
            throw error
        }
    }

    /// The loop behind `feed`: the shared reader, with request heads parsed here.
    mutating func run(
        _ input: UnsafeRawBufferPointer,
        _ onEvent: (HTTPParserEvent) -> HTTPParserAction
    ) throws(HTTPParseError) -> Int {
        var i = 0
        // Requests never close the reader (the connection decides), so `afterClose` is unreachable.
        while case .head(let start, let end) = try reader.run(
            input, from: &i, policy: policy, bodyLimit: limits.maxBodyBytes, map: HTTPParseError.init,
            afterClose: .invalidRequestLine, onBody: { onEvent(.body($0)) }, onEnd: { onEvent(.end) })
        {
            if onEvent(.head(try finishHead(input, start: start, end: end))) == .pause { break }
        }
        return i
    }

    /// Parses a completed head and moves to the body state its framing calls for.
    mutating func finishHead(_ input: UnsafeRawBufferPointer, start: Int, end: Int) throws(HTTPParseError) -> HTTPRequestHead {
        let limits = self.limits, policy = self.policy
        let fieldCount = reader.scanner.fieldLines
        let parsed = try reader.scanner.withCompleteSection(input, start: start, end: end) { raw throws(HTTPParseError) in
            try Self.parseHead(raw, fieldCount: fieldCount, limits: limits, policy: policy)
        }
        reader.begin(parsed.framing, closeAfter: false)
        return parsed.head
    }
}

/// The parser belongs to one connection on one event loop; it is not meant to cross threads.
@available(*, unavailable)
extension HTTPRequestParser: Sendable {}
