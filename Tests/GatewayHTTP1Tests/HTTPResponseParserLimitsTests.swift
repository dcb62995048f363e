import GatewayHTTP1
import Testing

/// A status line of exactly `length` bytes (without its line ending).
private func statusLine(length: Int) -> String {
    // "HTTP/1.1 204 " is 13 bytes plus the reason phrase.
    "HTTP/1.1 204 " + String(repeating: "a", count: length - 13)
}

/// A bodiless head of exactly `size` bytes including the final empty line.
private func head(size: Int) -> String {
    // "HTTP/1.1 204 No Content\r\n" (25) + "X: " (3) + padding + "\r\n\r\n" (4)
    "HTTP/1.1 204 No Content\r\nX: " + String(repeating: "a", count: size - 32) + "\r\n\r\n"
}

/// A bodiless head with `count` fields.
private func head(fields count: Int) -> String {
    "HTTP/1.1 204 No Content\r\n" + (0..<count).map { "F\($0): v\r\n" }.joined() + "\r\n"
}

/// Feeds `input` in one call, for one outstanding GET, and returns the error, if any, and the
/// number of events reported.
private func feedOnce(_ input: String, _ limits: HTTPResponseParserLimits) -> (error: HTTPResponseParseError?, events: Int) {
    var parser = HTTPResponseParser(limits: limits)
    parser.expect(headRequest: false)
    var events = 0
    let result = bytes(input).withUnsafeBytes { raw in
        Result { () throws(HTTPResponseParseError) -> Int in
            try parser.feed(raw) { _ in
                events += 1
                return .proceed
            }
        }
    }
    if case .failure(let error) = result { return (error, events) }
    return (nil, events)
}

/// Expects `valid` to parse under every split and `invalid` to fail with `error` under every split.
private func expectBoundary(
    valid: String, invalid: String, limits: HTTPResponseParserLimits, finish: Bool = false,
    error: HTTPResponseParseError, sourceLocation: SourceLocation = #_sourceLocation
) {
    for (label, chunks) in everySplit(of: bytes(valid)) {
        let run = driveResponses(chunks, requests: [.get], limits: limits, finish: finish)
        #expect(run.error == nil, "valid, \(label)", sourceLocation: sourceLocation)
        #expect(run.events.last == .end, "valid, \(label)", sourceLocation: sourceLocation)
    }
    for (label, chunks) in everySplit(of: bytes(invalid)) {
        let run = driveResponses(chunks, requests: [.get], limits: limits, finish: finish)
        #expect(run.error == error, "invalid, \(label)", sourceLocation: sourceLocation)
    }
}

@Suite("HTTPResponseParserLimits")
struct HTTPResponseParserLimitsTests {
    @Test("defaults")
    func defaults() {
        let limits = HTTPResponseParserLimits()
        #expect(limits.maxStatusLineBytes == 8192)
        #expect(limits.maxHeaderBytes == 65536)
        #expect(limits.maxHeaderCount == 200)
        #expect(limits.maxBodyBytes == 16 << 20)
    }

    @Test("status line: the limit passes, one byte more fails, with CRLF or bare LF")
    func statusLineBoundary() {
        let limits = HTTPResponseParserLimits(maxStatusLineBytes: 40)
        expectBoundary(
            valid: statusLine(length: 40) + "\r\n\r\n", invalid: statusLine(length: 41) + "\r\n\r\n",
            limits: limits, error: .statusLineTooLong(limit: 40)
        )
        expectBoundary(
            valid: statusLine(length: 40) + "\n\n", invalid: statusLine(length: 41) + "\n\n",
            limits: limits, error: .statusLineTooLong(limit: 40)
        )
    }

    @Test("an oversize status line is rejected before its line ending arrives")
    func statusLineEarly() {
        let limits = HTTPResponseParserLimits(maxStatusLineBytes: 40)
        // limit + 1 bytes that cannot be limit bytes plus CR: rejected now.
        #expect(feedOnce(statusLine(length: 41), limits).error == .statusLineTooLong(limit: 40))
        // limit bytes plus CR: could still be a valid line.
        #expect(feedOnce(statusLine(length: 40) + "\r", limits).error == nil)
        // limit + 2 bytes whatever they are.
        #expect(feedOnce(statusLine(length: 41) + "\r", limits).error == .statusLineTooLong(limit: 40))
        // A backend streaming a line without end.
        #expect(feedOnce("HTTP/1.1 200 " + String(repeating: "a", count: 100), limits).error == .statusLineTooLong(limit: 40))
    }

    @Test("head size: the limit passes, one byte more fails")
    func headBoundary() {
        let limits = HTTPResponseParserLimits(maxHeaderBytes: 100)
        #expect(bytes(head(size: 100)).count == 100)
        expectBoundary(valid: head(size: 100), invalid: head(size: 101), limits: limits, error: .headTooLarge(limit: 100))
    }

    @Test("an oversize head is rejected before the empty line arrives")
    func headEarly() {
        let limits = HTTPResponseParserLimits(maxHeaderBytes: 100)
        let partial = "HTTP/1.1 204 No Content\r\nX: " + String(repeating: "a", count: 73)  // 101 bytes, no end
        #expect(bytes(partial).count == 101)
        #expect(feedOnce(partial, limits).error == .headTooLarge(limit: 100))
        #expect(feedOnce(String(partial.dropLast()), limits).error == nil)
        // Whole lines that are already too many bytes, the empty line still missing.
        let lines = "HTTP/1.1 204 No Content\r\n" + String(repeating: "A: b\r\n", count: 20)
        #expect(feedOnce(lines, limits).error == .headTooLarge(limit: 100))
    }

    @Test("header count: the limit passes, one more field fails, before the head ends")
    func headerCountBoundary() {
        let limits = HTTPResponseParserLimits(maxHeaderCount: 5)
        expectBoundary(valid: head(fields: 5), invalid: head(fields: 6), limits: limits, error: .tooManyHeaders(limit: 5))
        // Rejected as the sixth field line ends ("\r\n" is one Character).
        #expect(feedOnce(String(head(fields: 6).dropLast()), limits).error == .tooManyHeaders(limit: 5))
    }

    @Test("trailer count and size use the header limits")
    func trailerLimits() {
        let start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
        let trailers = { (count: Int) in (0..<count).map { "T\($0): v\r\n" }.joined() + "\r\n" }
        expectBoundary(
            valid: start + trailers(3), invalid: start + trailers(4),
            limits: HTTPResponseParserLimits(maxHeaderCount: 3), error: .tooManyHeaders(limit: 3)
        )
        // A trailer section of exactly 50 bytes: "T: " + 43 + "\r\n" + "\r\n" (the head is 47).
        let padded = { (n: Int) in "T: " + String(repeating: "v", count: n) + "\r\n\r\n" }
        expectBoundary(
            valid: start + padded(43), invalid: start + padded(44),
            limits: HTTPResponseParserLimits(maxHeaderBytes: 50), error: .headTooLarge(limit: 50)
        )
    }

    @Test("Content-Length: the limit passes, one more fails before the head is reported")
    func contentLengthBoundary() {
        let limits = HTTPResponseParserLimits(maxBodyBytes: 10)
        expectBoundary(
            valid: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            invalid: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        let early = feedOnce("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits)
        #expect(early.error == .bodyTooLarge(limit: 10))
        #expect(early.events == 0, "no head is reported for a response that is rejected")
    }

    @Test("chunked: the cumulative limit passes, one more byte fails before the chunk data")
    func chunkedBoundary() {
        let limits = HTTPResponseParserLimits(maxBodyBytes: 10)
        let start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectBoundary(
            valid: start + "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n",
            invalid: start + "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        // The size alone is enough: no data, not even the line ending of the size line.
        #expect(feedOnce(start + "4\r\nabcd\r\n7", limits).error == nil)
        #expect(feedOnce(start + "4\r\nabcd\r\n7;", limits).error == .bodyTooLarge(limit: 10))
        #expect(feedOnce(start + "4\r\nabcd\r\n7\r", limits).error == .bodyTooLarge(limit: 10))
        #expect(feedOnce(start + "4\r\nabcd\r\n7\n", limits).error == .bodyTooLarge(limit: 10))
    }

    @Test("close-delimited: the limit passes, one more byte fails as it arrives")
    func closeDelimitedBoundary() {
        let limits = HTTPResponseParserLimits(maxBodyBytes: 10)
        expectBoundary(
            valid: "HTTP/1.1 200 OK\r\n\r\n0123456789", invalid: "HTTP/1.1 200 OK\r\n\r\n01234567890",
            limits: limits, finish: true, error: .bodyTooLarge(limit: 10)
        )
        #expect(feedOnce("HTTP/1.1 200 OK\r\n\r\n01234567890", limits).error == .bodyTooLarge(limit: 10))
    }

    @Test("chunk-size line: the limit passes, one byte more fails")
    func chunkLineBoundary() {
        let limits = HTTPResponseParserLimits(maxStatusLineBytes: 20)
        let start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let line = { (n: Int) in "1;" + String(repeating: "e", count: n - 2) + "\r\nx\r\n0\r\n\r\n" }
        expectBoundary(valid: start + line(20), invalid: start + line(21), limits: limits, error: .chunkLineTooLong(limit: 20))
    }

    @Test("limits can change between responses")
    func settableLimits() throws {
        var parser = HTTPResponseParser(limits: .init(maxHeaderCount: 1))
        parser.expect(headRequest: false)
        parser.expect(headRequest: false)
        func feed(_ string: String) throws {
            _ = try bytes(string).withUnsafeBytes { raw in
                try parser.feed(raw) { _ in .proceed }
            }
        }
        try feed("HTTP/1.1 204 No Content\r\nA: 1\r\n\r\n")
        parser.limits.maxHeaderCount = 2
        try feed("HTTP/1.1 204 No Content\r\nA: 1\r\nB: 2\r\n\r\n")
        #expect(parser.isIdle)
    }
}
