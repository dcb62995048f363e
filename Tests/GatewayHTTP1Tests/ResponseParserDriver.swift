import GatewayHTTP1
import Testing

/// A response event as the tests record it: heads compared by value, consecutive body pieces
/// concatenated.
enum RecordedResponse: Equatable, Sendable, CustomStringConvertible {
    case head(HTTPResponseHead)
    case body([UInt8])
    case end

    var description: String {
        switch self {
        case .head(let head): "head(\(head.version) \(head.status) \(head.reason.debugDescription) \(head.headers.fields))"
        case .body(let bytes): "body(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .end: "end"
        }
    }
}

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

/// Feeds `chunks` the way a backend client does: every request is announced first (the client
/// pipelines them), bytes the parser did not consume are kept and fed again with the next chunk
/// appended, and `finish` is called after the last chunk when `finish` is true (the backend closed).
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
    var run = ResponseRun()
    var paused = false
    func onEvent(_ event: HTTPResponseEvent) -> HTTPParserAction {
        if case .field(let name, let value) = event {
            guard case .head(var head)? = run.events.last else {
                Issue.record("a field event without a head before it")
                return .proceed
            }
            #expect(!collectsFields, "field events while the parser collects fields")
            head.headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            run.events[run.events.count - 1] = .head(head)
            // A pause here takes effect after the head's last field, like a pause on the head.
            if pauseOn(.head(head)) {
                paused = true
                return .pause
            }
            return .proceed
        }
        let recorded = recordResponse(event)
        if case .head(let head) = recorded, !collectsFields {
            #expect(head.headers.fields.isEmpty, "a head with fields while the parser does not collect them")
        }
        if case .body(let bytes) = recorded, case .body(let previous)? = run.events.last {
            run.events[run.events.count - 1] = .body(previous + bytes)
        } else {
            run.events.append(recorded)
        }
        if pauseOn(recorded) {
            paused = true
            return .pause
        }
        return .proceed
    }
    func done() -> ResponseRun {
        run.mustClose = parser.lastResponseMustClose
        run.expectedResponses = parser.expectedResponseCount
        run.isIdle = parser.isIdle
        return run
    }

    var pending: [UInt8] = []
    var stopped = false
    for chunk in chunks {
        pending += chunk
        while !stopped {
            paused = false
            let result = pending.withUnsafeBytes { raw in
                Result { () throws(HTTPResponseParseError) -> Int in try parser.feed(raw, onEvent) }
            }
            switch result {
            case .success(let consumed):
                pending.removeFirst(consumed)
            case .failure(let error):
                run.error = error
                run.leftover = pending
                return done()
            }
            if !paused { break }
            if stopAtPause { stopped = true }
        }
    }
    run.leftover = pending
    if finish {
        do throws(HTTPResponseParseError) {
            try parser.finish(onEvent)
        } catch {
            run.error = error
        }
    }
    return done()
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
