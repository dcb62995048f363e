import GatewayHTTP1
import Testing

/// A response stream that must fail with `error` however it is split.
struct ErrorResponseCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var requests: [SentRequest]
    var limits: HTTPResponseParserLimits
    /// Whether the backend closes the connection after the input (`finish`).
    var finish: Bool
    var error: HTTPResponseParseError
    var testDescription: String { name }

    init(
        _ name: String, _ input: String, requests: [SentRequest] = [.get], limits: HTTPResponseParserLimits = .init(),
        finish: Bool = false, _ error: HTTPResponseParseError
    ) {
        self.name = name
        self.input = bytes(input)
        self.requests = requests
        self.limits = limits
        self.finish = finish
        self.error = error
    }
}

private let chunkedOK = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
private let ok = "HTTP/1.1 200 OK\r\n"

let errorResponseCases: [ErrorResponseCase] = [
    // Limits (their boundaries are in HTTPResponseParserLimitsTests).
    ErrorResponseCase("status line too long", "HTTP/1.1 200 " + String(repeating: "a", count: 40) + "\r\n\r\n",
                      limits: .init(maxStatusLineBytes: 32), .statusLineTooLong(limit: 32)),
    ErrorResponseCase("head too large", ok + "X: " + String(repeating: "a", count: 60) + "\r\n\r\n",
                      limits: .init(maxHeaderBytes: 64), .headTooLarge(limit: 64)),
    ErrorResponseCase("too many headers", ok + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                      limits: .init(maxHeaderCount: 2), .tooManyHeaders(limit: 2)),
    ErrorResponseCase("Content-Length too large", ok + "Content-Length: 11\r\n\r\n",
                      limits: .init(maxBodyBytes: 10), .bodyTooLarge(limit: 10)),
    ErrorResponseCase("Content-Length above the request's own limit", ok + "Content-Length: 5\r\n\r\n",
                      requests: [SentRequest(maxBodyBytes: 4)], .bodyTooLarge(limit: 4)),
    ErrorResponseCase("chunks too large in total", chunkedOK + "6\r\nabcdef\r\n5\r\n",
                      limits: .init(maxBodyBytes: 10), .bodyTooLarge(limit: 10)),
    ErrorResponseCase("chunk size Int.max", chunkedOK + "7fffffffffffffff\r\n", .bodyTooLarge(limit: 16_777_216)),
    ErrorResponseCase("close-delimited body too large", ok + "\r\n" + String(repeating: "b", count: 11),
                      limits: .init(maxBodyBytes: 10), .bodyTooLarge(limit: 10)),
    ErrorResponseCase("trailer section too large", chunkedOK + "0\r\nX: " + String(repeating: "a", count: 70) + "\r\n\r\n",
                      limits: .init(maxHeaderBytes: 64), .headTooLarge(limit: 64)),
    ErrorResponseCase("too many trailer fields", chunkedOK + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                      limits: .init(maxHeaderCount: 2), .tooManyHeaders(limit: 2)),

    // Transfer-Encoding: the last coding must be chunked, applied once.
    ErrorResponseCase("TE gzip", ok + "Transfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding("gzip")),
    ErrorResponseCase("TE chunked, gzip", ok + "Transfer-Encoding: chunked, gzip\r\n\r\n",
                      .unsupportedTransferEncoding("chunked, gzip")),
    ErrorResponseCase("TE chunked then gzip in two fields", ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
                      .unsupportedTransferEncoding("chunked, gzip")),
    ErrorResponseCase("TE chunked twice", ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                      .unsupportedTransferEncoding("chunked, chunked")),
    ErrorResponseCase("TE chunked, chunked", ok + "Transfer-Encoding: chunked, chunked\r\n\r\n",
                      .unsupportedTransferEncoding("chunked, chunked")),
    ErrorResponseCase("TE identity", ok + "Transfer-Encoding: identity\r\n\r\n", .unsupportedTransferEncoding("identity")),
    ErrorResponseCase("TE empty", ok + "Transfer-Encoding: \r\n\r\n", .unsupportedTransferEncoding("")),
    ErrorResponseCase("CL then TE", ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                      .contentLengthWithTransferEncoding),
    ErrorResponseCase("TE then CL", ok + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                      .contentLengthWithTransferEncoding),
    ErrorResponseCase("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10),

    // Versions.
    ErrorResponseCase("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 2, minor: 0))),
    ErrorResponseCase("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 1, minor: 2))),
    ErrorResponseCase("HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 0, minor: 9))),
    ErrorResponseCase("HTTP/2 without minor", "HTTP/2 200 OK\r\n\r\n", .invalidVersion),
    ErrorResponseCase("lowercase version", "http/1.1 200 OK\r\n\r\n", .invalidVersion),
    ErrorResponseCase("not HTTP", "ICY 200 OK\r\n\r\n", .invalidVersion),
    ErrorResponseCase("no space after version", "HTTP/1.1200 OK\r\n\r\n", .invalidVersion),
    ErrorResponseCase("leading space", " HTTP/1.1 200 OK\r\n\r\n", .invalidVersion),

    // Status line.
    ErrorResponseCase("version only", "HTTP/1.1\r\n\r\n", .invalidStatusLine),
    ErrorResponseCase("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", .invalidStatusCode("20")),
    ErrorResponseCase("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", .invalidStatusCode("2000")),
    ErrorResponseCase("status below 100", "HTTP/1.1 099 Low\r\n\r\n", .invalidStatusCode("099")),
    ErrorResponseCase("status 000", "HTTP/1.1 000\r\n\r\n", .invalidStatusCode("000")),
    ErrorResponseCase("non-digit status", "HTTP/1.1 2x0 OK\r\n\r\n", .invalidStatusCode("2x0")),
    ErrorResponseCase("signed status", "HTTP/1.1 +20 OK\r\n\r\n", .invalidStatusCode("+20")),
    ErrorResponseCase("empty status", "HTTP/1.1  200 OK\r\n\r\n", .invalidStatusCode("")),
    ErrorResponseCase("tab after status", "HTTP/1.1 200\tOK\r\n\r\n", .invalidStatusCode("200\tOK")),
    ErrorResponseCase("CTL in reason", "HTTP/1.1 200 O\u{1}K\r\n\r\n", .invalidStatusLine),
    ErrorResponseCase("NUL in reason", "HTTP/1.1 200 O\u{0}K\r\n\r\n", .invalidStatusLine),
    ErrorResponseCase("bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", .invalidStatusLine),
    ErrorResponseCase("CR CR LF after reason", "HTTP/1.1 200 OK\r\r\n\r\n", .invalidStatusLine),

    // Line terminators: bare LF is accepted, CR must be followed by LF.
    ErrorResponseCase("bare CR after a chunk size", chunkedOK + "5\rhello\r\n0\r\n\r\n", .invalidLineTerminator),
    ErrorResponseCase("bare CR after a chunk extension", chunkedOK + "5;a\rhello\r\n0\r\n\r\n", .invalidLineTerminator),
    ErrorResponseCase("chunk data followed by CR only", chunkedOK + "5\r\nhello\rX", .invalidChunkTerminator),
    ErrorResponseCase("chunk data too long", chunkedOK + "5\r\nhelloXY\r\n", .invalidChunkTerminator),

    // Field lines.
    ErrorResponseCase("field name not a token", ok + "Server: a\r\nX(A): b\r\n\r\n", .invalidHeaderName(index: 1)),
    ErrorResponseCase("empty field name", ok + ": b\r\n\r\n", .invalidHeaderName(index: 0)),
    ErrorResponseCase("field without colon", ok + "NoColon\r\n\r\n", .invalidHeaderName(index: 0)),
    ErrorResponseCase("whitespace inside a field name", ok + "X A: b\r\n\r\n", .invalidHeaderName(index: 0)),
    ErrorResponseCase("obs-fold", ok + "X-A: a\r\n b\r\n\r\n", .obsoleteLineFolding(index: 1)),
    ErrorResponseCase("obs-fold with bare LF", ok + "X-A: a\n\tb\n\n", .obsoleteLineFolding(index: 1)),
    ErrorResponseCase("whitespace before the first field", ok + "\tServer: a\r\n\r\n", .obsoleteLineFolding(index: 0)),
    ErrorResponseCase("NUL in value", ok + "X-A: a\u{0}b\r\n\r\n", .invalidHeaderValue(name: "X-A")),
    ErrorResponseCase("ESC in value", ok + "X-A: \u{1B}[31m\r\n\r\n", .invalidHeaderValue(name: "X-A")),
    ErrorResponseCase("DEL in value", ok + "X-A: a\u{7F}\r\n\r\n", .invalidHeaderValue(name: "X-A")),
    ErrorResponseCase("bare CR in value", ok + "X-A: a\rb\r\n\r\n", .invalidHeaderValue(name: "X-A")),
    ErrorResponseCase("CR CR LF after value", ok + "X-A: a\r\r\n\r\n", .invalidHeaderValue(name: "X-A")),
    ErrorResponseCase("bad trailer name", chunkedOK + "0\r\nX(: y\r\n\r\n", .invalidHeaderName(index: 0)),
    ErrorResponseCase("CTL in trailer value", chunkedOK + "0\r\nA: 1\r\nX: \u{1}\r\n\r\n", .invalidHeaderValue(name: "X")),
    ErrorResponseCase("obs-fold in trailers", chunkedOK + "0\r\nA: 1\r\n 2\r\n\r\n", .obsoleteLineFolding(index: 1)),

    // Content-Length.
    ErrorResponseCase("negative Content-Length", ok + "Content-Length: -1\r\n\r\n", .invalidContentLength("-1")),
    ErrorResponseCase("garbage Content-Length", ok + "Content-Length: abc\r\n\r\n", .invalidContentLength("abc")),
    ErrorResponseCase("signed Content-Length", ok + "Content-Length: +5\r\n\r\n", .invalidContentLength("+5")),
    ErrorResponseCase("hex Content-Length", ok + "Content-Length: 0x10\r\n\r\n", .invalidContentLength("0x10")),
    ErrorResponseCase("spaced Content-Length", ok + "Content-Length: 1 2\r\n\r\n", .invalidContentLength("1 2")),
    ErrorResponseCase("empty Content-Length", ok + "Content-Length:\r\n\r\n", .invalidContentLength("")),
    ErrorResponseCase("overflowing Content-Length", ok + "Content-Length: 99999999999999999999\r\n\r\n",
                      .invalidContentLength("99999999999999999999")),
    ErrorResponseCase("conflicting Content-Length fields", ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
                      .invalidContentLength("6")),
    ErrorResponseCase("conflicting Content-Length list", ok + "Content-Length: 5, 6\r\n\r\n", .invalidContentLength("5, 6")),
    ErrorResponseCase("Content-Length list with an empty element", ok + "Content-Length: 5,,5\r\n\r\n",
                      .invalidContentLength("5,,5")),

    // Chunked body.
    ErrorResponseCase("non-hex chunk size", chunkedOK + "g\r\n", .invalidChunkSize),
    ErrorResponseCase("hex prefix chunk size", chunkedOK + "0x5\r\n", .invalidChunkSize),
    ErrorResponseCase("negative chunk size", chunkedOK + "-5\r\n", .invalidChunkSize),
    ErrorResponseCase("missing chunk size", chunkedOK + "\r\n", .invalidChunkSize),
    ErrorResponseCase("missing chunk size, bare LF", chunkedOK + "\n", .invalidChunkSize),
    ErrorResponseCase("extension without chunk size", chunkedOK + ";a=b\r\n", .invalidChunkSize),
    ErrorResponseCase("overflowing chunk size (16 digits)", chunkedOK + "8000000000000000\r\n", .invalidChunkSize),
    ErrorResponseCase("overflowing chunk size (17 digits)", chunkedOK + "fffffffffffffffff\r\n", .invalidChunkSize),
    ErrorResponseCase("CTL in chunk extension", chunkedOK + "5;a\u{1}b\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
    ErrorResponseCase("chunk line too long", chunkedOK + "5;" + String(repeating: "x", count: 40) + "\r\nhello\r\n",
                      limits: .init(maxStatusLineBytes: 32), .chunkLineTooLong(limit: 32)),

    // The connection: responses nobody asked for, bytes after the last response, early closes.
    ErrorResponseCase("response with no request outstanding", "HTTP/1.1 200 OK\r\n\r\n", requests: [], .unsolicitedResponse),
    ErrorResponseCase("garbage with no request outstanding", "\r\nX", requests: [], .unsolicitedResponse),
    ErrorResponseCase("one response too many", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                      .unsolicitedResponse),
    ErrorResponseCase("data after Connection: close", ok + "Connection: close\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK",
                      requests: [.get, .get], .dataAfterClose),
    ErrorResponseCase("data after an HTTP/1.0 response", "HTTP/1.0 204 No Content\r\n\r\n\r\n", requests: [.get, .get],
                      .dataAfterClose),
    ErrorResponseCase("closed in the status line", "HTTP/1.1 20", finish: true, .incompleteResponse),
    ErrorResponseCase("closed in the head", ok + "Content-Length: 5\r\n", finish: true, .incompleteResponse),
    ErrorResponseCase("closed after a lone CR", "\r", finish: true, .incompleteResponse),
    ErrorResponseCase("closed in a Content-Length body", ok + "Content-Length: 5\r\n\r\nabc", finish: true, .incompleteResponse),
    ErrorResponseCase("closed in a chunk-size line", chunkedOK + "5", finish: true, .incompleteResponse),
    ErrorResponseCase("closed in chunk data", chunkedOK + "5\r\nhel", finish: true, .incompleteResponse),
    ErrorResponseCase("closed after chunk data", chunkedOK + "5\r\nhello", finish: true, .incompleteResponse),
    ErrorResponseCase("closed before the trailer section ends", chunkedOK + "0\r\nX: y\r\n", finish: true, .incompleteResponse),
    ErrorResponseCase("closed after an interim response", "HTTP/1.1 100 Continue\r\n\r\n", finish: true, .incompleteResponse),
    ErrorResponseCase("closed before any response", "", requests: [.get, .head], finish: true, .noResponse(unanswered: 2)),
    ErrorResponseCase("closed after the first of two responses", "HTTP/1.1 204 No Content\r\n\r\n", requests: [.get, .get],
                      finish: true, .noResponse(unanswered: 1)),
]

@Suite("HTTPResponseParser errors")
struct HTTPResponseParserErrorTests {
    @Test("fails with the same error whole, at every split point, and byte by byte; fields collected or not",
          arguments: errorResponseCases, [true, false])
    func everySplitPoint(_ testCase: ErrorResponseCase, collectsFields: Bool) {
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = driveResponses(chunks, requests: testCase.requests, limits: testCase.limits, finish: testCase.finish,
                                     collectsFields: collectsFields)
            #expect(run.error == testCase.error, "\(label)")
            #expect(!run.isIdle, "\(label)")
        }
    }

    @Test("every case maps to 502 and has a description")
    func descriptions() {
        let all: [HTTPResponseParseError] = [
            .statusLineTooLong(limit: 1), .headTooLarge(limit: 1), .tooManyHeaders(limit: 1), .bodyTooLarge(limit: 1),
            .unsupportedTransferEncoding("gzip"), .unsupportedVersion(HTTPVersion(major: 2, minor: 0)), .invalidVersion,
            .invalidStatusLine, .invalidStatusCode("20"), .invalidLineTerminator, .invalidHeaderName(index: 0),
            .obsoleteLineFolding(index: 0), .invalidHeaderValue(name: "x"), .invalidContentLength("x"),
            .contentLengthWithTransferEncoding, .transferEncodingInHTTP10, .invalidChunkSize, .invalidChunkExtension,
            .chunkLineTooLong(limit: 1), .invalidChunkTerminator, .unsolicitedResponse, .dataAfterClose,
            .incompleteResponse, .noResponse(unanswered: 1),
        ]
        for error in all {
            #expect(error.status == 502, "\(error)")
            #expect(!error.description.isEmpty)
        }
        #expect(Set(all.map(\.description)).count == all.count, "descriptions tell the cases apart")
    }

    @Test("framing errors are thrown before the head is reported")
    func noHeadBeforeFramingError() {
        let run = driveResponses(
            [bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")], requests: [.get])
        #expect(run.error == .contentLengthWithTransferEncoding)
        #expect(run.events.isEmpty)
    }

    @Test("a close-delimited body over the limit: the crossing piece is not reported")
    func closeDelimitedLimitReportsNothingPastIt() {
        let input = bytes("HTTP/1.1 200 OK\r\n\r\n0123456789X")
        for (label, chunks) in everySplit(of: input) {
            let run = driveResponses(chunks, requests: [.get], limits: .init(maxBodyBytes: 10))
            #expect(run.error == .bodyTooLarge(limit: 10), "\(label)")
            let reported = run.events.reduce(0) { total, event in
                if case .body(let body) = event { return total + body.count }
                return total
            }
            #expect(reported <= 10, "\(label)")
        }
    }

    @Test("an error is sticky: later feeds and finish throw it again and nothing is reported")
    func stickyError() {
        var parser = HTTPResponseParser()
        parser.expect(headRequest: false)
        parser.expect(headRequest: false)
        var events = 0
        for input in ["HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", ""] {
            #expect(throws: HTTPResponseParseError.obsoleteLineFolding(index: 1)) {
                _ = try bytes(input).withUnsafeBytes { raw in
                    try parser.feed(raw) { _ in
                        events += 1
                        return .proceed
                    }
                }
            }
        }
        #expect(throws: HTTPResponseParseError.obsoleteLineFolding(index: 1)) {
            try parser.finish { _ in
                events += 1
                return .proceed
            }
        }
        #expect(events == 0)
        #expect(!parser.isIdle)
        #expect(!parser.awaitingResponse)
        #expect(parser.expectedResponseCount == 2, "the failed response's request and the next one got no response")
    }

    @Test("a failed finish is sticky too, and feeding after finish is data after the close")
    func afterFinish() throws {
        var parser = HTTPResponseParser()
        parser.expect(headRequest: false)
        #expect(throws: HTTPResponseParseError.noResponse(unanswered: 1)) { try parser.finish { _ in .proceed } }
        #expect(throws: HTTPResponseParseError.noResponse(unanswered: 1)) {
            _ = try bytes("HTTP/1.1 200 OK\r\n").withUnsafeBytes { raw in try parser.feed(raw) { _ in .proceed } }
        }

        var closed = HTTPResponseParser()
        try closed.finish { _ in .proceed }
        closed.expect(headRequest: false)
        #expect(throws: HTTPResponseParseError.dataAfterClose) {
            _ = try bytes("HTTP/1.1 200 OK\r\n").withUnsafeBytes { raw in try closed.feed(raw) { _ in .proceed } }
        }
    }
}
