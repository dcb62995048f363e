import GatewayHTTP1
import Testing

/// A request line of exactly `length` bytes (without CRLF).
private func requestLine(length: Int) -> String {
    // "GET " + target + " HTTP/1.1" is 13 bytes plus the target.
    "GET /" + String(repeating: "a", count: length - 14) + " HTTP/1.1"
}

/// A head of exactly `size` bytes including the final empty line.
private func head(size: Int) -> String {
    // "GET / HTTP/1.1\r\n" (16) + "X: " (3) + padding + "\r\n\r\n" (4)
    "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: size - 23) + "\r\n\r\n"
}

/// A head with `count` fields.
private func head(fields count: Int) -> String {
    "GET / HTTP/1.1\r\n" + (0..<count).map { "F\($0): v\r\n" }.joined() + "\r\n"
}

/// Feeds `input` in one call and returns the error, if any, and the number of events reported.
private func feedOnce(_ input: String, _ limits: HTTPParserLimits) -> (error: HTTPParseError?, events: Int) {
    var parser = HTTPRequestParser(limits: limits)
    var events = 0
    let result = bytes(input).withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> Int in
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
    valid: String, invalid: String, limits: HTTPParserLimits, error: HTTPParseError,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for (label, chunks) in everySplit(of: bytes(valid)) {
        let run = drive(chunks, limits: limits)
        #expect(run.error == nil, "valid, \(label)", sourceLocation: sourceLocation)
        #expect(run.events.last == .end, "valid, \(label)", sourceLocation: sourceLocation)
    }
    for (label, chunks) in everySplit(of: bytes(invalid)) {
        #expect(drive(chunks, limits: limits).error == error, "invalid, \(label)", sourceLocation: sourceLocation)
    }
}

@Suite("HTTPParserLimits")
struct HTTPParserLimitsTests {
    @Test("defaults")
    func defaults() {
        let limits = HTTPParserLimits()
        #expect(limits.maxRequestLineBytes == 8192)
        #expect(limits.maxHeaderBytes == 16384)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxBodyBytes == 1_048_576)
    }

    @Test("request line: the limit passes, one byte more fails with 414")
    func requestLineBoundary() {
        let limits = HTTPParserLimits(maxRequestLineBytes: 40)
        expectBoundary(
            valid: requestLine(length: 40) + "\r\n\r\n", invalid: requestLine(length: 41) + "\r\n\r\n",
            limits: limits, error: .requestLineTooLong(limit: 40)
        )
    }

    @Test("an oversize request line is rejected before its CRLF arrives")
    func requestLineEarly() {
        let limits = HTTPParserLimits(maxRequestLineBytes: 40)
        let line = requestLine(length: 41)
        // limit + 1 bytes that cannot be limit bytes plus CR: rejected now.
        #expect(feedOnce(line, limits).error == .requestLineTooLong(limit: 40))
        // limit bytes plus CR: could still be a valid line.
        #expect(feedOnce(requestLine(length: 40) + "\r", limits).error == nil)
        // limit + 2 bytes whatever they are.
        #expect(feedOnce(requestLine(length: 41) + "\r", limits).error == .requestLineTooLong(limit: 40))
        // Only the start of the line: "GET /aaaa…" with no version yet.
        #expect(feedOnce("GET /" + String(repeating: "a", count: 100), limits).error == .requestLineTooLong(limit: 40))
    }

    @Test("head size: the limit passes, one byte more fails with 431")
    func headBoundary() {
        let limits = HTTPParserLimits(maxHeaderBytes: 100)
        #expect(bytes(head(size: 100)).count == 100)
        expectBoundary(valid: head(size: 100), invalid: head(size: 101), limits: limits, error: .headTooLarge(limit: 100))
    }

    @Test("an oversize head is rejected before CRLFCRLF arrives")
    func headEarly() {
        let limits = HTTPParserLimits(maxHeaderBytes: 100)
        let partial = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 82)  // 101 bytes, no end
        #expect(feedOnce(partial, limits).error == .headTooLarge(limit: 100))
        #expect(feedOnce(String(partial.dropLast()), limits).error == nil)
        // Whole lines that are already too many bytes, the empty line still missing.
        let lines = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 20)
        #expect(feedOnce(lines, limits).error == .headTooLarge(limit: 100))
    }

    @Test("header count: the limit passes, one more field fails with 431")
    func headerCountBoundary() {
        let limits = HTTPParserLimits(maxHeaderCount: 5)
        expectBoundary(valid: head(fields: 5), invalid: head(fields: 6), limits: limits, error: .tooManyHeaders(limit: 5))
        // Rejected as the sixth field line ends, before the head does ("\r\n" is one Character).
        #expect(feedOnce(String(head(fields: 6).dropLast()), limits).error == .tooManyHeaders(limit: 5))
    }

    @Test("trailer count and size use the header limits")
    func trailerLimits() {
        let start = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
        let trailers = { (count: Int) in (0..<count).map { "T\($0): v\r\n" }.joined() + "\r\n" }
        expectBoundary(
            valid: start + trailers(3), invalid: start + trailers(4),
            limits: HTTPParserLimits(maxHeaderCount: 3), error: .tooManyHeaders(limit: 3)
        )
        // A trailer section of exactly 50 bytes: "T: " + 43 + "\r\n" + "\r\n" (the head is 47).
        let padded = { (n: Int) in "T: " + String(repeating: "v", count: n) + "\r\n\r\n" }
        expectBoundary(
            valid: start + padded(43), invalid: start + padded(44),
            limits: HTTPParserLimits(maxHeaderBytes: 50), error: .headTooLarge(limit: 50)
        )
    }

    @Test("Content-Length: the limit passes, one more fails with 413 before any body byte")
    func contentLengthBoundary() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        expectBoundary(
            valid: "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
            invalid: "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        let early = feedOnce("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits)
        #expect(early.error == .bodyTooLarge(limit: 10))
        #expect(early.events == 0, "no head is reported for a request that is rejected")
    }

    @Test("chunked: the cumulative limit passes, one more byte fails with 413 before the chunk data")
    func chunkedBoundary() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        let start = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectBoundary(
            valid: start + "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n",
            invalid: start + "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        // The size alone is enough: no data, not even the CRLF of the size line.
        #expect(feedOnce(start + "4\r\nabcd\r\n7", limits).error == nil)
        #expect(feedOnce(start + "4\r\nabcd\r\n7;", limits).error == .bodyTooLarge(limit: 10))
        #expect(feedOnce(start + "4\r\nabcd\r\n7\r", limits).error == .bodyTooLarge(limit: 10))
    }

    @Test("chunk-size line: the limit passes, one byte more fails")
    func chunkLineBoundary() {
        let limits = HTTPParserLimits(maxRequestLineBytes: 20)
        let start = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        let line = { (n: Int) in "1;" + String(repeating: "e", count: n - 2) + "\r\nx\r\n0\r\n\r\n" }
        expectBoundary(valid: start + line(20), invalid: start + line(21), limits: limits, error: .chunkLineTooLong(limit: 20))
    }
}
