import GatewayHTTP1

/// A parser of either direction as the shared test drivers feed it. `HTTPRequestParser` and
/// `HTTPResponseParser` conform in ParserDriver.swift and ResponseParserDriver.swift.
protocol TestedParser {
    associatedtype Head: RecordableHead
    associatedtype Failure: Error & Equatable

    /// The parser's own `isIdle`.
    var isIdle: Bool { get }

    /// Feeds `input` once: each event is recorded into `events` (with `appendRecording(_:)`) and
    /// answered with what `action` returns for it, once per callback of the parser.
    mutating func feed(
        _ input: UnsafeRawBufferPointer, recording events: inout [RecordedEvent<Head>],
        action: (RecordedEvent<Head>) -> HTTPParserAction
    ) throws(Failure) -> Int

    /// Feeds `input` once, handing each body piece to `onBody` as the parser reported it (the
    /// pointer, not a copy), and answering `.proceed` to every event.
    mutating func feed(_ input: UnsafeRawBufferPointer, bodyPieces onBody: (UnsafeRawBufferPointer) -> Void) throws(Failure) -> Int
}

extension TestedParser {
    /// Feeds `input` once, answering `action` to every event, and returns what was consumed and the
    /// events recorded.
    mutating func feed(
        _ input: [UInt8], answering action: HTTPParserAction
    ) throws(Failure) -> (consumed: Int, events: [RecordedEvent<Head>]) {
        var events: [RecordedEvent<Head>] = []
        let result = input.withUnsafeBytes { raw in
            Result { () throws(Failure) -> Int in try feed(raw, recording: &events) { _ in action } }
        }
        return (try result.get(), events)
    }
}

extension TestedParser {
    /// Feeds `input` in one call, answering `.proceed` to every event, and returns the error, if
    /// any, and how many events the parser reported (callbacks, not recorded events).
    mutating func feedOnce(_ input: [UInt8]) -> (error: Failure?, events: Int) {
        var recorded: [RecordedEvent<Head>] = []
        var events = 0
        let result = input.withUnsafeBytes { raw in
            Result { () throws(Failure) -> Int in
                try feed(raw, recording: &recorded) { _ in
                    events += 1
                    return .proceed
                }
            }
        }
        if case .failure(let error) = result { return (error, events) }
        return (nil, events)
    }
}
