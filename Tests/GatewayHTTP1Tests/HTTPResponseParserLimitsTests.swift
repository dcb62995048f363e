import GatewayHTTP1
import Testing

/// A status line of exactly `length` bytes (without its line ending).
private func statusLine(length: Int) -> String {
    MessageSide.response.startLine(length: length)
}

/// Feeds `chunks` for one outstanding GET, calling `finish` after them when `finish` is true; the
/// error, if any, and whether the last event was an `.end` (for `expectBoundary`).
private func driveGet(
    _ chunks: [[UInt8]], _ limits: HTTPResponseParserLimits, finish: Bool = false
) -> (error: HTTPResponseParseError?, endsWithEnd: Bool) {
    let run = driveResponses(chunks, requests: [.get], limits: limits, finish: finish)
    return (run.error, run.events.last == .end)
}

/// The response side's own limits: defaults, bare LF line endings, close-delimited bodies and
/// settable limits. The limits both sides enforce are asserted for responses in
/// HTTPMessageLimitsTests.
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

    @Test("status line ended by bare LF: the limit passes, one byte more fails")
    func statusLineBoundaryBareLF() {
        let limits = HTTPResponseParserLimits(maxStatusLineBytes: 40)
        expectBoundary(
            valid: statusLine(length: 40) + "\n\n", invalid: statusLine(length: 41) + "\n\n",
            error: .statusLineTooLong(limit: 40)
        ) { driveGet($0, limits) }
    }

    @Test("chunked: the size alone is enough, with a bare LF ending the size line")
    func chunkedBoundaryBareLF() {
        let start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let run = MessageSide.response.feedOnce(start + "4\r\nabcd\r\n7\n", SideLimits(bodyBytes: 10))
        #expect(run.error == .response(.bodyTooLarge(limit: 10)))
    }

    @Test("close-delimited: the limit passes, one more byte fails as it arrives")
    func closeDelimitedBoundary() {
        let limits = HTTPResponseParserLimits(maxBodyBytes: 10)
        expectBoundary(
            valid: "HTTP/1.1 200 OK\r\n\r\n0123456789", invalid: "HTTP/1.1 200 OK\r\n\r\n01234567890",
            error: .bodyTooLarge(limit: 10)
        ) { driveGet($0, limits, finish: true) }
        let once = MessageSide.response.feedOnce("HTTP/1.1 200 OK\r\n\r\n01234567890", SideLimits(bodyBytes: 10))
        #expect(once.error == .response(.bodyTooLarge(limit: 10)))
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
