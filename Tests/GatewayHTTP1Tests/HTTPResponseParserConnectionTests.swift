import GatewayHTTP1
import Testing

/// A response and whether the connection must close after it.
struct MustCloseCase: Sendable, CustomTestStringConvertible {
    var response: String
    var request: SentRequest = .get
    var mustClose: Bool
    /// `.end` events from feeding the response (a close-delimited body has none before the close).
    var ends = 1
    var testDescription: String { response.debugDescription }
}

let mustCloseCases: [MustCloseCase] = [
    MustCloseCase(response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", mustClose: true),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", mustClose: true),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", mustClose: true),
    MustCloseCase(response: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\n\r\n", mustClose: true, ends: 0),
    MustCloseCase(response: "HTTP/1.1 200 OK\r\n\r\n", request: .head, mustClose: false),
    MustCloseCase(response: "HTTP/1.1 204 No Content\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.1 304 Not Modified\r\n\r\n", mustClose: false),
    MustCloseCase(response: "HTTP/1.1 101 Switching Protocols\r\n\r\n", mustClose: true),
    // An interim response's Connection field does not decide for the final one.
    MustCloseCase(
        response: "HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        mustClose: false, ends: 2),
]

/// The parser's view of the connection: which responses end it, what is in progress, the queue of
/// announced requests, per-request limits, and the close.
@Suite("HTTPResponseParser connection state")
struct HTTPResponseParserConnectionTests {
    @Test("lastResponseMustClose follows version, Connection and framing", arguments: mustCloseCases)
    func mustClose(_ testCase: MustCloseCase) {
        var parser = HTTPResponseParser()
        parser.expect(headRequest: testCase.request.isHead)
        #expect(!parser.lastResponseMustClose)
        var ends = 0
        let result = bytes(testCase.response).withUnsafeBytes { raw in
            Result { () throws(HTTPResponseParseError) -> Int in
                try parser.feed(raw) { event in
                    if case .end = event { ends += 1 }
                    return .proceed
                }
            }
        }
        #expect(throws: Never.self) { try result.get() }
        #expect(parser.lastResponseMustClose == testCase.mustClose)
        #expect(ends == testCase.ends)
    }

    @Test("101: pausing at .end leaves the new protocol's bytes to the caller")
    func switchingProtocolsLeavesBytes() {
        let head = bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        let frame: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        for (label, chunks) in everySplit(of: head + frame) {
            let run = driveResponses(chunks, requests: [.get], pauseOn: { $0 == .end }, stopAtPause: true)
            #expect(run.error == nil, "\(label)")
            #expect(run.ends == 1, "\(label)")
            #expect(run.mustClose, "\(label)")
            #expect(run.leftover == frame, "\(label)")
        }
        // Without the pause they are data after the close.
        #expect(driveResponses([head + frame], requests: [.get]).error == .dataAfterClose)
    }

    @Test("isIdle and awaitingResponse track the response in progress, interim ones included")
    func idleAndAwaiting() throws {
        var parser = HTTPResponseParser()
        func feed(_ string: String) throws {
            _ = try bytes(string).withUnsafeBytes { raw in
                try parser.feed(raw) { _ in .proceed }
            }
        }
        #expect(parser.isIdle && !parser.awaitingResponse)
        parser.expect(headRequest: false)
        parser.expect(headRequest: false)
        #expect(parser.expectedResponseCount == 2)
        #expect(parser.isIdle && !parser.awaitingResponse, "announced, but no byte yet")
        try feed("\r\n")
        #expect(parser.isIdle, "a skipped empty line is not a response")
        try feed("H")
        #expect(!parser.isIdle && parser.awaitingResponse)
        try feed("TTP/1.1 100 Continue\r\n\r\n")
        #expect(parser.awaitingResponse, "an interim response is not the answer")
        #expect(parser.expectedResponseCount == 2)
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        #expect(parser.awaitingResponse, "waiting for the body")
        #expect(parser.expectedResponseCount == 1)
        try feed("ok")
        #expect(parser.isIdle && !parser.awaitingResponse)
        try feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n")
        #expect(parser.awaitingResponse, "waiting for the trailer section")
        #expect(parser.expectedResponseCount == 0)
        try feed("\r\n")
        #expect(parser.isIdle && !parser.awaitingResponse)
        #expect(!parser.lastResponseMustClose)
    }

    @Test("the expectation queue stays in order through long pipelines and reuse")
    func expectationQueue() throws {
        var parser = HTTPResponseParser()
        var heads: [Int] = []
        func feed(_ string: String) throws {
            _ = try bytes(string).withUnsafeBytes { raw in
                try parser.feed(raw) { event in
                    if case .head(let head) = event { heads.append(head.status) }
                    return .proceed
                }
            }
        }
        // Keep a pipeline of depth 3 for 300 requests, alternating HEAD and GET: a HEAD's response
        // carries Content-Length 2 but no body, so any misordering misframes the stream.
        var sent = 0
        var answered = 0
        while answered < 300 {
            while sent - answered < 3 {
                parser.expect(headRequest: sent % 2 == 0)
                sent += 1
            }
            #expect(parser.expectedResponseCount == 3)
            let isHead = answered % 2 == 0
            try feed("HTTP/1.1 \(200 + answered % 100) OK\r\nContent-Length: 2\r\n\r\n" + (isHead ? "" : "ok"))
            answered += 1
        }
        #expect(heads == (0..<300).map { 200 + $0 % 100 })
        #expect(parser.expectedResponseCount == 2)
        #expect(parser.isIdle)
    }

    @Test("the body limit is per request: expect's override, or limits as they were at expect")
    func perResponseBodyLimit() {
        var parser = HTTPResponseParser(limits: .init(maxBodyBytes: 4))
        parser.expect(headRequest: false)  // 4
        parser.expect(headRequest: false, maxBodyBytes: 10)
        parser.limits.maxBodyBytes = 6
        parser.expect(headRequest: false)  // 6
        func feed(_ string: String) -> HTTPResponseParseError? {
            let result = bytes(string).withUnsafeBytes { raw in
                Result { () throws(HTTPResponseParseError) -> Int in try parser.feed(raw) { _ in .proceed } }
            }
            if case .failure(let error) = result { return error }
            return nil
        }
        #expect(feed("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd") == nil)
        #expect(feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789") == nil)
        #expect(feed("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n") == .bodyTooLarge(limit: 6))
    }

    @Test("finish between responses reports nothing; a second finish does nothing")
    func finishIdle() throws {
        var parser = HTTPResponseParser()
        var events = 0
        try parser.finish { _ in
            events += 1
            return .proceed
        }
        try parser.finish { _ in
            events += 1
            return .proceed
        }
        #expect(events == 0)
        #expect(parser.isIdle)
    }

    @Test("finish reports the .end a pause left pending")
    func finishAfterPause() throws {
        var parser = HTTPResponseParser()
        parser.expect(headRequest: false)
        var events: [RecordedResponse] = []
        _ = try bytes("HTTP/1.1 204 No Content\r\n\r\n").withUnsafeBytes { raw in
            try parser.feed(raw) { event in
                events.append(recordResponse(event))
                return .pause
            }
        }
        try parser.finish { event in
            events.append(recordResponse(event))
            return .pause
        }
        #expect(events == [responseHead(204, "No Content"), .end])
    }

    @Test("finish after a close-delimited body: .end, then the requests left unanswered")
    func finishWithUnanswered() {
        let run = driveResponses(
            [bytes("HTTP/1.1 200 OK\r\n\r\nbody")], requests: [.get, .get, .head], finish: true)
        #expect(run.events == [responseHead(200, "OK"), .body(bytes("body")), .end])
        #expect(run.error == .noResponse(unanswered: 2))
        #expect(run.expectedResponses == 2)
        #expect(run.mustClose)
    }
}
