/// An incremental, sans-IO HTTP/1.1 response parser for the gateway's own backend client: feed it the
/// bytes read from a backend connection and it reports each response's head, body pieces and end.
/// It does no I/O and never blocks.
///
/// The client pipelines requests, so it tells the parser about each one, in order, with
/// `expect(headRequest:maxBodyBytes:)` before that request's response bytes are fed: a response to
/// HEAD has no body whatever its headers say, and the body limit is per request. The parser keeps
/// the announcements in a small FIFO; an interim (1xx) response leaves its entry queued, the final
/// response consumes it.
///
/// Body length (RFC 9112 §6.3, in this order):
/// 1. A response to HEAD, an interim (1xx) response, 101, 204 and 304 have no body; their
///    `Content-Length` and `Transfer-Encoding` are not interpreted.
/// 2. `Transfer-Encoding` whose last coding is `chunked` (exactly once): a chunked body. Extensions
///    are ignored; trailer fields are validated and discarded. Any other `Transfer-Encoding` is an
///    error, as is one next to `Content-Length` or in an HTTP/1.0 response.
/// 3. `Content-Length` (identical duplicates accepted as one): exactly that many bytes.
/// 4. Otherwise the body runs until the backend closes the connection; `finish` ends it.
///
/// After each final response, `lastResponseMustClose` says whether the connection can carry another
/// request: not after a close-delimited body, a 101, `Connection: close`, or an HTTP/1.0 response
/// without `Connection: keep-alive` (RFC 9112 §9.3). Such a response is the last the parser accepts:
/// bytes after it fail with `.dataAfterClose`.
///
/// Choices worth knowing (this is the response side; `HTTPRequestParser` is stricter):
/// - **Bare LF is accepted** as a line ending wherever a line ends: status line, field lines, the
///   empty line, chunk-size lines, after chunk data, trailers. RFC 9112 §2.2 allows a recipient to do
///   so, some backends (hand-written or embedded HTTP servers) send it, and the reason the request
///   parser refuses it, two parsers disagreeing on message boundaries (request smuggling), does not
///   apply: these bytes come from our own backends, reach only this parser, and are not forwarded as
///   HTTP. A CR must still be followed by LF.
/// - Whitespace between a field name and its colon is removed, not rejected: RFC 9112 §5.1 requires
///   servers to reject it in requests but proxies to remove it from responses.
/// - A status line without a reason phrase (`HTTP/1.1 200`, no SP) is accepted, as clients must
///   ignore the reason anyway (RFC 9112 §4).
/// - Empty lines before a status line are skipped (a stray CRLF after a body), as the request parser
///   skips them before a request line.
/// - A head is copied into an internal buffer only when it spans several `feed` calls; when it arrives
///   whole it is parsed straight from the input. Body pieces are never copied. Beyond the head's
///   strings and fields, a response allocates nothing.
///
/// After an error the parser stays failed: every later `feed` and `finish` throws the same error.
/// Close the connection.
public struct HTTPResponseParser {
    /// The limits this parser enforces. Changing them between responses is fine; `maxBodyBytes` is
    /// captured by `expect`, so a change applies to the requests announced afterwards.
    public var limits: HTTPResponseParserLimits

    /// Whether the connection must be closed after the last final response whose head was parsed,
    /// rather than reused: its body was close-delimited, or it was a 101, or it said
    /// `Connection: close`, or it was HTTP/1.0 without `Connection: keep-alive`. Such a response is
    /// the last one the parser accepts, so after a `feed` this describes the connection. False
    /// before any final response.
    public internal(set) var lastResponseMustClose = false

    /// Whether `.head` events carry the header fields as Strings (the default). When false, the head's
    /// `headers` are empty and each field follows the head as a `.field` event pointing into the
    /// input: a backend client that keeps only the few fields it needs then parses a response head
    /// without allocating.
    public var collectsFields = true

    /// Set once an error was thrown; every later `feed` and `finish` rethrows it.
    var failure: HTTPResponseParseError?

    /// The requests whose final responses have not started yet, oldest first.
    var expectations = ExpectationQueue()
    /// Whether an interim response of the current request was received (its final one has not).
    var interimReceived = false
    /// The body limit of the current response.
    var bodyLimit = 0

    /// The message loop shared with the request parser.
    var reader = HTTPMessageReader()

    /// The response side of the shared core: bare LF accepted, the response limits as they are now.
    var policy: HTTPFramingPolicy { HTTPFramingPolicy(limits, request: false) }

    /// Creates a parser.
    /// - Parameter limits: size limits; the defaults are documented on `HTTPResponseParserLimits`.
    public init(limits: HTTPResponseParserLimits = .init()) {
        self.limits = limits
    }

    /// Announces the next request sent on the connection, whose response comes after those of the
    /// requests announced before it. Call it once per request, in sending order, before feeding any
    /// byte of that request's response (in practice: when the request is written).
    ///
    /// - Parameters:
    ///   - headRequest: whether the request is a HEAD; its response has no body (RFC 9110 §9.3.2),
    ///     even when it carries `Content-Length` or `Transfer-Encoding`.
    ///   - maxBodyBytes: the body limit for this response; nil (the default) takes
    ///     `limits.maxBodyBytes` as it is now.
    public mutating func expect(headRequest: Bool, maxBodyBytes: Int? = nil) {
        expectations.append(Expectation(isHead: headRequest, maxBodyBytes: maxBodyBytes ?? limits.maxBodyBytes))
    }

    /// How many announced requests have not had the head of their final response yet (the current
    /// response, once its head is reported, no longer counts). After an error or `finish`, these are
    /// the requests that got no response at all.
    public var expectedResponseCount: Int {
        expectations.count
    }

    /// Whether no response is in progress and nothing is buffered: the connection is between
    /// responses (an interim response does not count as between). False after an error. Whether
    /// the connection can be reused is `lastResponseMustClose`.
    public var isIdle: Bool {
        guard failure == nil, !interimReceived else { return false }
        switch reader.state {
        case .head: return reader.scanner.isEmpty
        case .closed: return true
        default: return false
        }
    }

    /// Whether bytes of a response have arrived and the response is not complete: the backend has
    /// started answering (a read timeout now is a stalled response, and a close now is an
    /// `.incompleteResponse`). Requests announced with `expect` whose responses have not started do
    /// not count (see `expectedResponseCount`). False after an error.
    public var awaitingResponse: Bool {
        failure == nil && !isIdle
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
    ///   e.g. to get the `.end` of a bodiless response after pausing on its `.head`). After a 101,
    ///   pause on its `.end` to keep the bytes of the new protocol that follow it.
    /// - Throws: the first protocol error; the parser then stays failed.
    public mutating func feed(
        _ input: UnsafeRawBufferPointer,
        _ onEvent: (HTTPResponseEvent) -> HTTPParserAction
    ) throws(HTTPResponseParseError) -> Int {
        if let failure { throw failure }
        do throws(HTTPResponseParseError) {
            return try run(input, onEvent)
        } catch {
            fail(error)
            throw error
        }
    }

    /// Tells the parser the backend closed the connection (a read returned 0), after every byte
    /// read was fed. Completes a close-delimited body with `.end` (as it does a response whose `.end`
    /// is pending after a pause); the action `onEvent` returns is ignored, as nothing follows.
    ///
    /// Afterwards the parser accepts no more bytes. Calling it again does nothing (or rethrows).
    ///
    /// - Throws: `.incompleteResponse` when the close cut a response short; otherwise
    ///   `.noResponse(unanswered:)` when announced requests got no response at all.
    public mutating func finish(_ onEvent: (HTTPResponseEvent) -> HTTPParserAction) throws(HTTPResponseParseError) {
        if let failure { throw failure }
        do throws(HTTPResponseParseError) {
            try close(onEvent)
        } catch {
            fail(error)
            throw error
        }
    }

    /// Records a failure and frees what the parser holds. The queued expectations stay, so that
    /// `expectedResponseCount` tells how many requests were lost.
    mutating func fail(_ error: HTTPResponseParseError) {
        failure = error
        reader.close(discarding: true)
    }

    /// The work behind `finish`.
    mutating func close(_ onEvent: (HTTPResponseEvent) -> HTTPParserAction) throws(HTTPResponseParseError) {
        if reader.takePendingEnd() { _ = onEvent(.end) }
        switch reader.state {
        case .body where reader.body.isCloseDelimited:
            _ = onEvent(.end)
        case .head:
            guard reader.scanner.isEmpty, !interimReceived else { throw .incompleteResponse }
        case .closed:
            break
        default:
            throw .incompleteResponse
        }
        reader.close(discarding: false)
        let unanswered = expectations.count
        guard unanswered == 0 else { throw .noResponse(unanswered: unanswered) }
    }

    /// The loop behind `feed`: the shared reader, with response heads parsed here. A status line
    /// is refused as soon as it begins when no request is outstanding.
    mutating func run(
        _ input: UnsafeRawBufferPointer,
        _ onEvent: (HTTPResponseEvent) -> HTTPParserAction
    ) throws(HTTPResponseParseError) -> Int {
        var i = 0
        while case .head(let start, let end) = try reader.run(
            input, from: &i, policy: policy, startLineAllowed: !expectations.isEmpty, bodyLimit: bodyLimit,
            map: HTTPResponseParseError.init, afterClose: .dataAfterClose,
            onBody: { onEvent(.body($0)) }, onEnd: { onEvent(.end) })
        {
            if try finishHead(input, start: start, end: end, onEvent) == .pause { break }
        }
        return i
    }

    /// Parses a completed head for the oldest outstanding request, reports it (with its fields when
    /// they are not collected) and moves to the body state its framing calls for. A final response
    /// consumes the request's entry; an interim one leaves it. Returns what the callback asked for.
    mutating func finishHead(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int,
        _ onEvent: (HTTPResponseEvent) -> HTTPParserAction
    ) throws(HTTPResponseParseError) -> HTTPParserAction {
        // The scanner refused the status line already if nothing was expected.
        guard let expectation = expectations.front else { throw .unsolicitedResponse }
        let fieldCount = reader.scanner.fieldLines
        let collect = collectsFields
        // The events are reported inside the section's scope, where the field bytes are valid; the
        // callback cannot observe the parser, so reporting before the state update below is safe.
        let policy = self.policy
        // Only the small parts leave the closure: the head itself went to the callback. Without
        // collected fields, each field is reported from where `parseHead` found it (its lines are
        // split once); a head of more fields than the scanner counted (never) is split again.
        let spanCapacity = collect ? 0 : fieldCount
        let (framing, interim, mustClose, action) = try withUnsafeTemporaryAllocation(of: FieldSpan.self, capacity: spanCapacity) {
            spans throws(HTTPResponseParseError) in
            try reader.scanner.withCompleteSection(input, start: start, end: end) {
                raw throws(HTTPResponseParseError) -> (HTTPBodyReader.Framing?, Bool, Bool, HTTPParserAction) in
                let parsed = try Self.parseHead(
                    raw, fieldCount: fieldCount, headRequest: expectation.isHead, maxBodyBytes: expectation.maxBodyBytes,
                    collectFields: collect, policy: policy, spans: collect ? nil : spans)
                // The small parts first: the head's last use is then the event, so it is moved into
                // it rather than copied (a copy retained each of its fields).
                let result = (parsed.framing, parsed.head.isInterim, parsed.mustClose, parsed.spanCount)
                var action = onEvent(.head(parsed.head))
                if !collect {
                    if result.3 <= spans.count {
                        for i in 0..<result.3 {
                            let f = spans[i]
                            let name = UnsafeRawBufferPointer(rebasing: raw[Int(f.nameStart)..<Int(f.nameStart + f.nameCount)])
                            let value = UnsafeRawBufferPointer(rebasing: raw[Int(f.valueStart)..<Int(f.valueStart + f.valueCount)])
                            if onEvent(.field(name: name, value: value)) == .pause { action = .pause }
                        }
                    } else {
                        guard let statusEnd = HTTPBytes.firstLF(in: raw, from: 0) else { throw .invalidStatusLine }
                        try HTTPFieldLines.forEach(in: raw, from: statusEnd + 1, policy: policy, map: HTTPResponseParseError.init) {
                            name, value throws(HTTPResponseParseError) in
                            if onEvent(.field(name: name, value: value)) == .pause { action = .pause }
                        }
                    }
                }
                return (result.0, result.1, result.2, action)
            }
        }
        interimReceived = interim
        if !interim {
            expectations.removeFirst()
            lastResponseMustClose = mustClose
        }
        bodyLimit = expectation.maxBodyBytes
        reader.begin(framing, closeAfter: !interim && mustClose)
        return action
    }
}

/// The parser belongs to one backend connection on one event loop; it is not meant to cross threads.
@available(*, unavailable)
extension HTTPResponseParser: Sendable {}
