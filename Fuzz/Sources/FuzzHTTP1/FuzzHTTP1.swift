import FuzzSupport
import GatewayBuffers
import GatewayHTTP1
import GatewayWebSocket

/// Fuzzes `HTTPRequestParser` the way `ClientConnection` drives it.
///
/// Input: `[options] [split] stream...`
/// - options bits 0–1: limits (default, tiny, small, no body allowed); bits 2–3: when the callback
///   pauses (never, at `.end`, at `.head` and `.end`, at every event); bits 4–5: how the stream is
///   cut (two chunks at `split`, byte by byte, chunks of `split % 16 + 1` bytes, two chunks).
/// - split: where the two-chunk cut falls, as a fraction of the stream (0–255).
///
/// The stream is parsed twice: whole, in one `feed` without pauses (the reference), and in chunks
/// with pauses, re-feeding the unconsumed bytes with the next chunk appended, as the server does.
/// Both must report the same events (body pieces merged) and both fail or neither. Along the way:
/// events follow head (body)* end, bodies match their framing and limits, body pointers alias the
/// input, `feed` consumes everything unless paused, the parser is idle after a pause at `.end`, and
/// after an error it stays failed without calling back. Each head also goes through what the server
/// does with it (keep-alive, path/query, the WebSocket handshake and its 101), each error through
/// `HTTPResponseWriter.writeError`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let options = input.byte()
    let split = input.byte()
    let stream = Array(input.rest)

    let limits: HTTPParserLimits
    switch options & 3 {
    case 1: limits = HTTPParserLimits(maxRequestLineBytes: 24, maxHeaderBytes: 64, maxHeaderCount: 3, maxBodyBytes: 16)
    case 2: limits = HTTPParserLimits(maxRequestLineBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 256)
    case 3: limits = HTTPParserLimits(maxBodyBytes: 0)
    default: limits = HTTPParserLimits()
    }
    let pause = PausePolicy(rawValue: (options >> 2) & 3) ?? .never

    var chunks: [ArraySlice<UInt8>] = []
    switch (options >> 4) & 3 {
    case 1:
        chunks = stream.indices.map { stream[$0...$0] }
    case 2:
        let step = Int(split % 16) + 1
        chunks = stride(from: 0, to: stream.count, by: step).map { stream[$0..<min($0 + step, stream.count)] }
    default:
        let cut = Int(split) * stream.count / 255
        chunks = [stream[..<cut], stream[cut...]]
    }

    let reference = parseWhole(stream, limits: limits)
    let chunked = parseChunked(chunks, limits: limits, pause: pause)
    check(
        reference.events == chunked.events && (reference.error == nil) == (chunked.error == nil),
        "whole and chunked parses differ for \(show(stream)):\n whole:   \(reference)\n chunked: \(chunked)"
    )
    return 0
}

/// When the callback returns `.pause`.
enum PausePolicy: UInt8 {
    case never, atEnd, atHeadAndEnd, always

    func pauses(_ event: HTTPParserEvent) -> Bool {
        switch (self, event) {
        case (.never, _): false
        case (.atEnd, .end), (.atHeadAndEnd, .end), (.atHeadAndEnd, .head), (.always, _): true
        default: false
        }
    }
}

/// An event copied out of the callback.
enum Recorded: Equatable {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end
}

/// What one parse produced: events with consecutive body pieces merged, and the error, if any.
struct Outcome: CustomStringConvertible {
    var events: [Recorded] = []
    var error: HTTPParseError?

    mutating func record(_ event: HTTPParserEvent) {
        switch event {
        case .head(let head): events.append(.head(head))
        case .end: events.append(.end)
        case .body(let piece):
            if case .body(let previous)? = events.last {
                events[events.count - 1] = .body(previous + piece)
            } else {
                events.append(.body(Array(piece)))
            }
        }
    }

    var description: String {
        let shown = events.map { event -> String in
            switch event {
            case .head(let h): "head(\(h.method) \(h.target) \(h.version) \(h.headers.fields))"
            case .body(let b): "body(\(show(b)))"
            case .end: "end"
            }
        }
        return "\(shown) error=\(error.map { "\($0)" } ?? "nil")"
    }
}

/// The reference: the whole stream in one `feed`, never pausing.
func parseWhole(_ stream: [UInt8], limits: HTTPParserLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    let result = stream.withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> Int in
            try parser.feed(raw) { event in
                outcome.record(event)
                return .proceed
            }
        }
    }
    switch result {
    case .success(let consumed): check(consumed == stream.count, "consumed \(consumed) of \(stream.count) without a pause")
    case .failure(let error): outcome.error = error
    }
    return outcome
}

/// Feeds `chunks` as a server does: unconsumed bytes are kept and fed again, at once after a pause
/// and with the next chunk appended otherwise.
func parseChunked(_ chunks: [ArraySlice<UInt8>], limits: HTTPParserLimits, pause: PausePolicy) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var grammar = EventGrammar(limits: limits)
    var pending: [UInt8] = []
    for chunk in chunks {
        pending += chunk
        while true {
            var paused = false
            var pausedAtEnd = false
            let result = pending.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) -> Int in
                    try parser.feed(raw) { event in
                        check(!paused, "callback after .pause")
                        grammar.observe(event, input: raw)
                        outcome.record(event)
                        if pause.pauses(event) {
                            paused = true
                            if case .end = event { pausedAtEnd = true }
                            return .pause
                        }
                        return .proceed
                    }
                }
            }
            switch result {
            case .success(let consumed):
                check(consumed <= pending.count, "consumed \(consumed) of \(pending.count)")
                check(paused || consumed == pending.count, "consumed \(consumed) of \(pending.count) without a pause")
                pending.removeFirst(consumed)
                if pausedAtEnd { check(parser.isIdle, "not idle right after .end") }
            case .failure(let error):
                checkStaysFailed(&parser, error, pending)
                outcome.error = error
                return outcome
            }
            if !paused { break }
        }
    }
    check(pending.isEmpty, "\(pending.count) bytes left unconsumed")
    if grammar.isInsideRequest { check(!parser.isIdle, "idle inside a request") }
    return outcome
}

/// After an error the parser is dead: it is not idle, and every later `feed` throws the same error
/// without calling back. The server answers with `writeError`.
func checkStaysFailed(_ parser: inout HTTPRequestParser, _ error: HTTPParseError, _ rest: [UInt8]) {
    check(!parser.isIdle, "idle after \(error)")
    for input in [rest, [], Array("GET / HTTP/1.1\r\n\r\n".utf8)] {
        let again = input.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) -> Int in
                try parser.feed(raw) { _ -> HTTPParserAction in invariantFailed("callback after \(error)") }
            }
        }
        guard case .failure(let second) = again, second == error else {
            invariantFailed("after \(error), feed gave \(again)")
        }
    }
    var response = ByteBuffer()
    HTTPResponseWriter.writeError(error, into: &response)
    let text = response.description
    check(text.hasPrefix("HTTP/1.1 \(error.status) ") && text.contains("\r\n\r\n"), "error response \(show(text.utf8))")
    check(!error.description.isEmpty, "empty description")
}
