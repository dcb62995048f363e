import GatewayHTTP1
import Testing

/// A bodiless head of exactly `size` bytes including the final empty line.
private func head(_ side: MessageSide, size: Int) -> String {
    // start line + "\r\n" + "X: " + padding + "\r\n\r\n"
    let start = side.bodilessStartLine + "\r\nX: "
    return start + String(repeating: "a", count: size - start.utf8.count - 4) + "\r\n\r\n"
}

/// A bodiless head with `count` fields.
private func head(_ side: MessageSide, fields count: Int) -> String {
    side.bodilessStartLine + "\r\n" + (0..<count).map { "F\($0): v\r\n" }.joined() + "\r\n"
}

/// Expects `valid` to parse and `invalid` to fail with `side`'s name for `error`, under every split.
private func expectBoundary(
    _ side: MessageSide, valid: String, invalid: String, limits: SideLimits, error: LimitError,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectBoundary(valid: valid, invalid: invalid, error: side.error(error), sourceLocation: sourceLocation) {
        side.drive($0, limits)
    }
}

/// The limits both parsers enforce through their shared core, each asserted on both sides with
/// that side's error. What only one side has is in HTTPParserLimitsTests (defaults) and
/// HTTPResponseParserLimitsTests (defaults, bare LF, close-delimited bodies, settable limits).
@Suite("HTTP message limits, both directions")
struct HTTPMessageLimitsTests {
    @Test("start line: the limit passes, one byte more fails (414 on the request side)", arguments: MessageSide.allCases)
    func startLineBoundary(_ side: MessageSide) {
        expectBoundary(
            side, valid: side.startLine(length: 40) + "\r\n\r\n", invalid: side.startLine(length: 41) + "\r\n\r\n",
            limits: SideLimits(startLine: 40), error: .startLineTooLong(limit: 40)
        )
    }

    @Test("an oversize start line is rejected before its line ending arrives", arguments: MessageSide.allCases)
    func startLineEarly(_ side: MessageSide) {
        let limits = SideLimits(startLine: 40)
        let error = side.error(.startLineTooLong(limit: 40))
        // limit + 1 bytes that cannot be limit bytes plus CR: rejected now.
        #expect(side.feedOnce(side.startLine(length: 41), limits).error == error)
        // limit bytes plus CR: could still be a valid line.
        #expect(side.feedOnce(side.startLine(length: 40) + "\r", limits).error == nil)
        // limit + 2 bytes whatever they are.
        #expect(side.feedOnce(side.startLine(length: 41) + "\r", limits).error == error)
        // Only the start of a line that goes on without end.
        #expect(side.feedOnce(side.endlessStartLine, limits).error == error)
    }

    @Test("head size: the limit passes, one byte more fails (431 on the request side)", arguments: MessageSide.allCases)
    func headBoundary(_ side: MessageSide) {
        #expect(bytes(head(side, size: 100)).count == 100)
        expectBoundary(
            side, valid: head(side, size: 100), invalid: head(side, size: 101),
            limits: SideLimits(headerBytes: 100), error: .headTooLarge(limit: 100)
        )
    }

    @Test("an oversize head is rejected before the empty line arrives", arguments: MessageSide.allCases)
    func headEarly(_ side: MessageSide) {
        let limits = SideLimits(headerBytes: 100)
        let start = side.bodilessStartLine + "\r\nX: "
        let partial = start + String(repeating: "a", count: 101 - start.utf8.count)  // 101 bytes, no end
        #expect(bytes(partial).count == 101)
        #expect(side.feedOnce(partial, limits).error == side.error(.headTooLarge(limit: 100)))
        #expect(side.feedOnce(String(partial.dropLast()), limits).error == nil)
        // Whole lines that are already too many bytes, the empty line still missing.
        let lines = side.bodilessStartLine + "\r\n" + String(repeating: "A: b\r\n", count: 20)
        #expect(side.feedOnce(lines, limits).error == side.error(.headTooLarge(limit: 100)))
    }

    @Test("header count: the limit passes, one more field fails, before the head ends", arguments: MessageSide.allCases)
    func headerCountBoundary(_ side: MessageSide) {
        expectBoundary(
            side, valid: head(side, fields: 5), invalid: head(side, fields: 6),
            limits: SideLimits(headerCount: 5), error: .tooManyHeaders(limit: 5)
        )
        // Rejected as the sixth field line ends, before the head does ("\r\n" is one Character).
        #expect(side.feedOnce(String(head(side, fields: 6).dropLast()), SideLimits(headerCount: 5)).error
            == side.error(.tooManyHeaders(limit: 5)))
    }

    @Test("trailer count and size use the header limits", arguments: MessageSide.allCases)
    func trailerLimits(_ side: MessageSide) {
        let start = side.startLineWithBody + "\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
        let trailers = { (count: Int) in (0..<count).map { "T\($0): v\r\n" }.joined() + "\r\n" }
        expectBoundary(
            side, valid: start + trailers(3), invalid: start + trailers(4),
            limits: SideLimits(headerCount: 3), error: .tooManyHeaders(limit: 3)
        )
        // A trailer section of exactly 50 bytes: "T: " + 43 + "\r\n" + "\r\n" (the head is 47).
        let padded = { (n: Int) in "T: " + String(repeating: "v", count: n) + "\r\n\r\n" }
        expectBoundary(
            side, valid: start + padded(43), invalid: start + padded(44),
            limits: SideLimits(headerBytes: 50), error: .headTooLarge(limit: 50)
        )
    }

    @Test("Content-Length: the limit passes, one more fails (413 on the request side) before the head is reported",
          arguments: MessageSide.allCases)
    func contentLengthBoundary(_ side: MessageSide) {
        let limits = SideLimits(bodyBytes: 10)
        expectBoundary(
            side, valid: side.startLineWithBody + "\r\nContent-Length: 10\r\n\r\n0123456789",
            invalid: side.startLineWithBody + "\r\nContent-Length: 11\r\n\r\n01234567890",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        let early = side.feedOnce(side.startLineWithBody + "\r\nContent-Length: 11\r\n\r\n", limits)
        #expect(early.error == side.error(.bodyTooLarge(limit: 10)))
        #expect(early.events == 0, "no head is reported for a \(side) that is rejected")
    }

    @Test("chunked: the cumulative limit passes, one more byte fails before the chunk data", arguments: MessageSide.allCases)
    func chunkedBoundary(_ side: MessageSide) {
        let limits = SideLimits(bodyBytes: 10)
        let start = side.startLineWithBody + "\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectBoundary(
            side, valid: start + "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n",
            invalid: start + "4\r\nabcd\r\n7\r\nefghijk\r\n0\r\n\r\n",
            limits: limits, error: .bodyTooLarge(limit: 10)
        )
        // The size alone is enough: no data, not even the line ending of the size line.
        #expect(side.feedOnce(start + "4\r\nabcd\r\n7", limits).error == nil)
        #expect(side.feedOnce(start + "4\r\nabcd\r\n7;", limits).error == side.error(.bodyTooLarge(limit: 10)))
        #expect(side.feedOnce(start + "4\r\nabcd\r\n7\r", limits).error == side.error(.bodyTooLarge(limit: 10)))
    }

    @Test("chunk-size line: the start-line limit passes, one byte more fails", arguments: MessageSide.allCases)
    func chunkLineBoundary(_ side: MessageSide) {
        let start = side.startLineWithBody + "\r\nTransfer-Encoding: chunked\r\n\r\n"
        let line = { (n: Int) in "1;" + String(repeating: "e", count: n - 2) + "\r\nx\r\n0\r\n\r\n" }
        expectBoundary(
            side, valid: start + line(20), invalid: start + line(21),
            limits: SideLimits(startLine: 20), error: .chunkLineTooLong(limit: 20)
        )
    }
}
