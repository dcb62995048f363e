import GatewayHTTP1
import Testing

/// One direction of HTTP/1.1 parsing, for the tests that assert the same behaviour of both parsers
/// (it comes from their shared core): how a message of that side starts, how to feed one through
/// that side's parser with given limits, and that side's name for an error both sides report.
enum MessageSide: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case request
    case response

    var testDescription: String { rawValue }

    /// The start line of a message without a body, without its line ending.
    var bodilessStartLine: String {
        switch self {
        case .request: "GET / HTTP/1.1"
        case .response: "HTTP/1.1 204 No Content"
        }
    }

    /// The start line of a message whose head frames a body, without its line ending (15 bytes on
    /// both sides).
    var startLineWithBody: String {
        switch self {
        case .request: "POST / HTTP/1.1"
        case .response: "HTTP/1.1 200 OK"
        }
    }

    /// A start line of a bodiless message of exactly `length` bytes (without its line ending): a
    /// long target, or a long reason phrase.
    func startLine(length: Int) -> String {
        switch self {
        // "GET " + target + " HTTP/1.1" is 13 bytes plus the target.
        case .request: "GET /" + String(repeating: "a", count: length - 14) + " HTTP/1.1"
        // "HTTP/1.1 204 " is 13 bytes plus the reason phrase.
        case .response: "HTTP/1.1 204 " + String(repeating: "a", count: length - 13)
        }
    }

    /// The beginning of a start line that goes on without end: 100 bytes of target (no version
    /// yet), or of reason phrase (a backend streaming a line without end).
    var endlessStartLine: String {
        switch self {
        case .request: "GET /" + String(repeating: "a", count: 100)
        case .response: "HTTP/1.1 200 " + String(repeating: "a", count: 100)
        }
    }

    /// This side's error for a limit both sides enforce.
    func error(_ expected: LimitError) -> SideError {
        switch self {
        case .request: .request(expected.on(HTTPParseError.self))
        case .response: .response(expected.on(HTTPResponseParseError.self))
        }
    }

    /// Feeds `input` in one call to a new parser of this side (the response parser expecting the
    /// response to one GET) and returns the error, if any, and how many events were reported.
    func feedOnce(_ input: String, _ limits: SideLimits = .init()) -> (error: SideError?, events: Int) {
        switch self {
        case .request:
            var parser = HTTPRequestParser(limits: limits.applied(to: HTTPParserLimits()))
            let (error, events) = parser.feedOnce(bytes(input))
            return (error.map(SideError.request), events)
        case .response:
            var parser = HTTPResponseParser(limits: limits.applied(to: HTTPResponseParserLimits()))
            parser.expect(headRequest: false)
            let (error, events) = parser.feedOnce(bytes(input))
            return (error.map(SideError.response), events)
        }
    }

    /// Feeds `chunks` to a new parser of this side with `drive` or `driveResponses` (for one GET)
    /// and returns the error, if any, and whether the last event recorded is an `.end`.
    func drive(_ chunks: [[UInt8]], _ limits: SideLimits = .init()) -> (error: SideError?, endsWithEnd: Bool) {
        switch self {
        case .request:
            let run = GatewayHTTP1Tests.drive(chunks, limits: limits.applied(to: HTTPParserLimits()))
            return (run.error.map(SideError.request), run.events.last == .end)
        case .response:
            let run = driveResponses(chunks, requests: [.get], limits: limits.applied(to: HTTPResponseParserLimits()))
            return (run.error.map(SideError.response), run.events.last == .end)
        }
    }
}
