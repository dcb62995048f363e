import GatewayHTTP1

/// What feeding a stream to a parser produced: the events, the bytes left unconsumed, and the error.
struct ParserRun<Parser: TestedParser> {
    var events: [RecordedEvent<Parser.Head>] = []
    var leftover: [UInt8] = []
    var error: Parser.Failure?
}

/// Feeds `chunks` to `parser` the way a connection does: bytes the parser did not consume are kept
/// and fed again with the next chunk appended. Stops at the first error.
///
/// - Parameters:
///   - pauseOn: events after which the callback returns `.pause`. After a pause the rest of the
///     bytes are fed again right away (possibly none), unless `stopAtPause`.
///   - stopAtPause: stop feeding at the first pause (as a server does at an upgrade); the rest of
///     the input ends up in `leftover`.
func feedChunks<Parser: TestedParser>(
    _ chunks: [[UInt8]], to parser: inout Parser,
    pauseOn: (RecordedEvent<Parser.Head>) -> Bool, stopAtPause: Bool
) -> ParserRun<Parser> {
    var run = ParserRun<Parser>()
    var pending: [UInt8] = []
    var stopped = false
    for chunk in chunks {
        pending += chunk
        while !stopped {
            var paused = false
            let result = pending.withUnsafeBytes { raw in
                Result { () throws(Parser.Failure) -> Int in
                    try parser.feed(raw, recording: &run.events) { event in
                        guard pauseOn(event) else { return .proceed }
                        paused = true
                        return .pause
                    }
                }
            }
            switch result {
            case .success(let consumed):
                pending.removeFirst(consumed)
            case .failure(let error):
                run.error = error
                run.leftover = pending
                return run
            }
            if !paused { break }
            if stopAtPause { stopped = true }
        }
    }
    run.leftover = pending
    return run
}
