import GatewayHTTP1

/// The outcome of feeding a request stream: the events, the bytes left unconsumed, and the error.
typealias ParseRun = ParserRun<HTTPRequestParser>

/// Feeds `chunks` to a new request parser the way a server does (see `feedChunks(_:to:pauseOn:stopAtPause:)`).
///
/// - Parameters:
///   - pauseOn: events after which the callback returns `.pause`. After a pause the driver feeds
///     the remaining bytes again right away (possibly none), unless `stopAtPause`.
///   - stopAtPause: stop parsing at the first pause, as a server does at an upgrade; the rest of
///     the input ends up in `leftover`.
func drive(
    _ chunks: [[UInt8]],
    limits: HTTPParserLimits = .init(),
    pauseOn: (Recorded) -> Bool = { _ in false },
    stopAtPause: Bool = false
) -> ParseRun {
    var parser = HTTPRequestParser(limits: limits)
    return feedChunks(chunks, to: &parser, pauseOn: pauseOn, stopAtPause: stopAtPause)
}

/// Copies an event out of the callback.
func record(_ event: HTTPParserEvent) -> Recorded {
    switch event {
    case .head(let head): .head(head)
    case .body(let bytes): .body(Array(bytes))
    case .end: .end
    }
}

extension HTTPRequestParser: TestedParser {
    mutating func feed(
        _ input: UnsafeRawBufferPointer, recording events: inout [Recorded], action: (Recorded) -> HTTPParserAction
    ) throws(HTTPParseError) -> Int {
        try feed(input) { event in
            let recorded = record(event)
            events.appendRecording(recorded)
            return action(recorded)
        }
    }

    mutating func feed(_ input: UnsafeRawBufferPointer, bodyPieces onBody: (UnsafeRawBufferPointer) -> Void) throws(HTTPParseError) -> Int {
        try feed(input) { event in
            if case .body(let piece) = event { onBody(piece) }
            return .proceed
        }
    }
}

/// A recorded request head, for expected event lists.
func requestHead(
    _ method: HTTPMethod, _ target: String, _ version: HTTPVersion = .http1_1, _ fields: [(String, String)] = []
) -> Recorded {
    .head(HTTPRequestHead(method: method, target: target, version: version,
                          headers: HTTPHeaders(fields.map { (name: $0.0, value: $0.1) })))
}
