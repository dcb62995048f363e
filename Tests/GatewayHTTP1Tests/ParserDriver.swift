import GatewayHTTP1

/// An event as the tests record it: heads compared by value, consecutive body pieces concatenated.
enum Recorded: Equatable, Sendable, CustomStringConvertible {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end

    var description: String {
        switch self {
        case .head(let head): "head(\(head.method) \(head.target) \(head.version) \(head.headers.fields))"
        case .body(let bytes): "body(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .end: "end"
        }
    }
}

/// The outcome of feeding a request stream: the events, the bytes left unconsumed, and the error.
struct ParseRun {
    var events: [Recorded] = []
    var leftover: [UInt8] = []
    var error: HTTPParseError?
}

/// Feeds `chunks` the way a server does: bytes the parser did not consume are kept and fed again
/// with the next chunk appended.
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
    var run = ParseRun()
    var pending: [UInt8] = []
    var stopped = false
    for chunk in chunks {
        pending += chunk
        while !stopped {
            var paused = false
            let result = pending.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) -> Int in
                    try parser.feed(raw) { event in
                        let recorded = record(event)
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

/// Copies an event out of the callback.
func record(_ event: HTTPParserEvent) -> Recorded {
    switch event {
    case .head(let head): .head(head)
    case .body(let bytes): .body(Array(bytes))
    case .end: .end
    }
}

/// Every way to deliver `bytes`: whole, split in two at every point, and one byte at a time.
func everySplit(of bytes: [UInt8]) -> [(label: String, chunks: [[UInt8]])] {
    var out: [(label: String, chunks: [[UInt8]])] = [("whole", [bytes])]
    for k in 0...bytes.count {
        out.append(("split at \(k)", [Array(bytes[..<k]), Array(bytes[k...])]))
    }
    out.append(("byte by byte", bytes.map { [$0] }))
    return out
}

/// The UTF-8 bytes of a string (tests write requests as string literals).
func bytes(_ string: String) -> [UInt8] {
    Array(string.utf8)
}
