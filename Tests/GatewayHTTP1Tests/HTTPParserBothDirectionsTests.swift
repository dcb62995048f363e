import GatewayHTTP1
import Testing

/// Expects a pause on the head of the first of two bodiless messages in `input` to consume that
/// message only (`consumed` bytes) and report only its `head`, with the parser not idle (and
/// `whilePaused` holding); then an empty feed reports its `.end` and leaves the parser idle.
private func expectEndAfterPauseOnHead<Parser: TestedParser>(
    _ parser: inout Parser, input: String, consumed: Int, head: RecordedEvent<Parser.Head>,
    whilePaused: (Parser) -> Void = { _ in }
) throws {
    let paused = try parser.feed(bytes(input), answering: .pause)
    #expect(paused.consumed == consumed)
    #expect(paused.events == [head])
    #expect(!parser.isIdle)
    whilePaused(parser)
    let resumed = try parser.feed([], answering: .proceed)
    #expect(resumed.consumed == 0)
    #expect(paused.events + resumed.events == [head, .end])
    #expect(parser.isIdle)
}

/// Expects the body piece `parser` reports for `input`, a message whose last 3 bytes are its body,
/// to point into `input` itself, not a copy.
private func expectBodyAliasesInput<Parser: TestedParser>(_ parser: inout Parser, input: [UInt8]) throws {
    try input.withUnsafeBytes { raw in
        _ = try parser.feed(raw) { (piece: UnsafeRawBufferPointer) in
            #expect(piece.baseAddress == raw.baseAddress.map { $0 + input.count - 3 })
            #expect(piece.count == 3)
        }
    }
}

/// Behaviour both parsers share through their core, asserted on each: pausing, and body pieces
/// that alias the input.
@Suite("HTTP parsers, both directions")
struct HTTPParserBothDirectionsTests {
    @Test("pausing on the head of a bodiless message: .end comes from the next feed, even an empty one",
          arguments: MessageSide.allCases)
    func pauseOnHead(_ side: MessageSide) throws {
        switch side {
        case .request:
            var parser = HTTPRequestParser()
            try expectEndAfterPauseOnHead(
                &parser, input: "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", consumed: 18, head: requestHead(.GET, "/")
            )
        case .response:
            var parser = HTTPResponseParser()
            parser.expect(headRequest: false)
            parser.expect(headRequest: false)
            try expectEndAfterPauseOnHead(
                &parser, input: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", consumed: 27,
                head: responseHead(204, "No Content"), whilePaused: { #expect($0.awaitingResponse) }
            )
        }
    }

    @Test("a head that arrives whole is parsed in place; body pieces alias the input", arguments: MessageSide.allCases)
    func bodyAliasesInput(_ side: MessageSide) throws {
        let input = bytes(side.startLineWithBody + "\r\nContent-Length: 3\r\n\r\nabc")
        switch side {
        case .request:
            var parser = HTTPRequestParser()
            try expectBodyAliasesInput(&parser, input: input)
        case .response:
            var parser = HTTPResponseParser()
            parser.expect(headRequest: false)
            try expectBodyAliasesInput(&parser, input: input)
        }
    }
}
