import GatewayHTTP1
import Testing

/// A request the client sent, as announced to the parser with `expect`.
struct SentRequest: Sendable, Equatable {
    var isHead = false
    var maxBodyBytes: Int?

    static let get = SentRequest()
    static let head = SentRequest(isHead: true)
}

/// The outcome of feeding a response stream.
struct ResponseRun {
    var events: [RecordedResponse] = []
    var leftover: [UInt8] = []
    var error: HTTPResponseParseError?
    /// `lastResponseMustClose` at the end of the run.
    var mustClose = false
    /// `expectedResponseCount` at the end of the run.
    var expectedResponses = 0
    /// `isIdle` at the end of the run.
    var isIdle = false

    /// How many `.end` events were reported.
    var ends: Int { events.count(where: { $0 == .end }) }
}

/// Feeds `chunks` to a new response parser the way a backend client does: every request is
/// announced first (the client pipelines them), then the chunks are fed as
/// `feedChunks(_:to:pauseOn:stopAtPause:)` does, and `finish` is called after the last chunk when `finish`
/// is true (the backend closed) and no error came first.
///
/// - Parameters:
///   - pauseOn: events after which the callback returns `.pause`. After a pause the driver feeds
///     the remaining bytes again right away (possibly none), unless `stopAtPause`.
///   - stopAtPause: stop parsing at the first pause; the rest of the input ends up in `leftover`.
///   - collectsFields: the parser's setting; when false, `.field` events are folded into the head
///     reported just before them, so both settings record the same events.
func driveResponses(
    _ chunks: [[UInt8]],
    requests: [SentRequest],
    limits: HTTPResponseParserLimits = .init(),
    finish: Bool = false,
    pauseOn: (RecordedResponse) -> Bool = { _ in false },
    stopAtPause: Bool = false,
    collectsFields: Bool = true
) -> ResponseRun {
    var parser = HTTPResponseParser(limits: limits)
    parser.collectsFields = collectsFields
    for request in requests {
        parser.expect(headRequest: request.isHead, maxBodyBytes: request.maxBodyBytes)
    }
    let fed = feedChunks(chunks, to: &parser, pauseOn: pauseOn, stopAtPause: stopAtPause)
    var run = ResponseRun(events: fed.events, leftover: fed.leftover, error: fed.error)
    if finish, run.error == nil {
        do throws(HTTPResponseParseError) {
            try parser.finish { event in
                HTTPResponseParser.record(event, into: &run.events, collectsFields: collectsFields) { _ in .proceed }
            }
        } catch {
            run.error = error
        }
    }
    run.mustClose = parser.lastResponseMustClose
    run.expectedResponses = parser.expectedResponseCount
    run.isIdle = parser.isIdle
    return run
}

extension HTTPResponseParser: TestedParser {
    mutating func feed(
        _ input: UnsafeRawBufferPointer, recording events: inout [RecordedResponse],
        action: (RecordedResponse) -> HTTPParserAction
    ) throws(HTTPResponseParseError) -> Int {
        let collectsFields = collectsFields
        return try feed(input) { event in Self.record(event, into: &events, collectsFields: collectsFields, action: action) }
    }

    mutating func feed(
        _ input: UnsafeRawBufferPointer, bodyPieces onBody: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPResponseParseError) -> Int {
        try feed(input) { event in
            if case .body(let piece) = event { onBody(piece) }
            return .proceed
        }
    }

    /// Records `event` into `events` and answers what `action` returns for it. A `.field` event
    /// (`collectsFields` false) is added to the head recorded just before it, so both settings
    /// record the same events; the action for it is the action for that head, as a pause on a
    /// field takes effect after the head's last field, like a pause on the head.
    static func record(
        _ event: HTTPResponseEvent, into events: inout [RecordedResponse], collectsFields: Bool,
        action: (RecordedResponse) -> HTTPParserAction
    ) -> HTTPParserAction {
        if case .field(let name, let value) = event {
            guard case .head(var head)? = events.last else {
                Issue.record("a field event without a head before it")
                return .proceed
            }
            #expect(!collectsFields, "field events while the parser collects fields")
            head.headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            events[events.count - 1] = .head(head)
            return action(.head(head))
        }
        let recorded = recordResponse(event)
        if case .head(let head) = recorded, !collectsFields {
            #expect(head.headers.fields.isEmpty, "a head with fields while the parser does not collect them")
        }
        events.appendRecording(recorded)
        return action(recorded)
    }
}

/// Copies an event out of the callback.
func recordResponse(_ event: HTTPResponseEvent) -> RecordedResponse {
    switch event {
    case .head(let head): .head(head)
    case .field(let name, let value): .body(Array(name) + Array(": ".utf8) + Array(value))  // folded by the driver
    case .body(let bytes): .body(Array(bytes))
    case .end: .end
    }
}

/// A recorded head, for expected event lists.
func responseHead(
    _ status: Int, _ reason: String = "", _ version: HTTPVersion = .http1_1, _ fields: [(String, String)] = []
) -> RecordedResponse {
    .head(HTTPResponseHead(version: version, status: status, reason: reason,
                           headers: HTTPHeaders(fields.map { (name: $0.0, value: $0.1) })))
}
