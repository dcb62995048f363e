import GatewayHTTP1
import Testing

/// A request stream that must fail with `error` (and its status) however it is split.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var limits = HTTPParserLimits()
    var error: HTTPParseError
    var status: Int
    var testDescription: String { name }

    init(_ name: String, _ input: String, limits: HTTPParserLimits = .init(), _ error: HTTPParseError, _ status: Int) {
        self.name = name
        self.input = bytes(input)
        self.limits = limits
        self.error = error
        self.status = status
    }

    init(_ name: String, bytes input: [UInt8], _ error: HTTPParseError, _ status: Int) {
        self.name = name
        self.input = input
        self.error = error
        self.status = status
    }
}

private let chunkedPost = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

let errorCases: [ErrorCase] = [
    // 414 / 431 / 413: the limits themselves are tested at their boundaries in HTTPParserLimitsTests.
    ErrorCase("request line too long", "GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\n\r\n",
              limits: .init(maxRequestLineBytes: 32), .requestLineTooLong(limit: 32), 414),
    ErrorCase("head too large", "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 60) + "\r\n\r\n",
              limits: .init(maxHeaderBytes: 64), .headTooLarge(limit: 64), 431),
    ErrorCase("too many headers", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
              limits: .init(maxHeaderCount: 2), .tooManyHeaders(limit: 2), 431),
    ErrorCase("Content-Length too large", "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
              limits: .init(maxBodyBytes: 10), .bodyTooLarge(limit: 10), 413),
    ErrorCase("chunks too large in total", chunkedPost + "6\r\nabcdef\r\n5\r\n",
              limits: .init(maxBodyBytes: 10), .bodyTooLarge(limit: 10), 413),
    ErrorCase("chunk size Int.max", chunkedPost + "7fffffffffffffff\r\n", .bodyTooLarge(limit: 1_048_576), 413),
    ErrorCase("trailer section too large", chunkedPost + "0\r\nX: " + String(repeating: "a", count: 70) + "\r\n\r\n",
              limits: .init(maxHeaderBytes: 64), .headTooLarge(limit: 64), 431),
    ErrorCase("too many trailer fields", chunkedPost + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
              limits: .init(maxHeaderCount: 2), .tooManyHeaders(limit: 2), 431),

    // 501: only exactly `chunked`.
    ErrorCase("TE gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding("gzip"), 501),
    ErrorCase("TE gzip, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
              .unsupportedTransferEncoding("gzip, chunked"), 501),
    ErrorCase("TE chunked, gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
              .unsupportedTransferEncoding("chunked, gzip"), 501),
    ErrorCase("TE chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
              .unsupportedTransferEncoding("chunked, chunked"), 501),
    ErrorCase("TE identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", .unsupportedTransferEncoding("identity"), 501),
    ErrorCase("TE empty", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", .unsupportedTransferEncoding(""), 501),

    // 505: well-formed but unsupported versions.
    ErrorCase("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 2, minor: 0)), 505),
    ErrorCase("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 0, minor: 9)), 505),
    ErrorCase("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", .unsupportedVersion(HTTPVersion(major: 1, minor: 2)), 505),

    // 400: line terminators.
    ErrorCase("bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", .invalidLineTerminator, 400),
    ErrorCase("bare LF in a field line", "GET / HTTP/1.1\r\nHost: a\n\r\n", .invalidLineTerminator, 400),
    ErrorCase("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", .invalidLineTerminator, 400),
    ErrorCase("bare LF after a chunk size", chunkedPost + "5\nhello\r\n0\r\n\r\n", .invalidLineTerminator, 400),
    ErrorCase("bare LF in a chunk extension", chunkedPost + "5;a\nhello\r\n0\r\n\r\n", .invalidLineTerminator, 400),
    ErrorCase("bare CR after a chunk size", chunkedPost + "5\rhello\r\n0\r\n\r\n", .invalidLineTerminator, 400),
    ErrorCase("bare LF in trailers", chunkedPost + "0\r\nX: y\n\r\n", .invalidLineTerminator, 400),

    // 400: request line.
    ErrorCase("HTTP/0.9-style line without version", "GET /\r\n\r\n", .invalidRequestLine, 400),
    ErrorCase("method only", "GET\r\n\r\n", .invalidRequestLine, 400),
    ErrorCase("method not a token", "G@T / HTTP/1.1\r\n\r\n", .invalidMethod, 400),
    ErrorCase("empty method", " / HTTP/1.1\r\n\r\n", .invalidMethod, 400),
    ErrorCase("empty target", "GET  / HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("relative target", "GET abc HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("asterisk without OPTIONS", "GET * HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("DEL in target", "GET /a\u{7F} HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("non-ASCII target", "GET /café HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("CR in target", "GET /a\rb HTTP/1.1\r\n\r\n", .invalidTarget, 400),
    ErrorCase("version with suffix", "GET / HTTP/1.1x\r\n\r\n", .invalidVersion, 400),
    ErrorCase("version with two digits", "GET / HTTP/11\r\n\r\n", .invalidVersion, 400),
    ErrorCase("lowercase version", "GET / http/1.1\r\n\r\n", .invalidVersion, 400),
    ErrorCase("trailing space after version", "GET / HTTP/1.1 \r\n\r\n", .invalidVersion, 400),

    // 400: field lines.
    ErrorCase("field name not a token", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", .invalidHeaderName(index: 1), 400),
    ErrorCase("empty field name", "GET / HTTP/1.1\r\n: b\r\n\r\n", .invalidHeaderName(index: 0), 400),
    ErrorCase("field without colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", .invalidHeaderName(index: 0), 400),
    ErrorCase("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .whitespaceBeforeColon(index: 0), 400),
    ErrorCase("tab before colon", "GET / HTTP/1.1\r\nA: 1\r\nHost\t: a\r\n\r\n", .whitespaceBeforeColon(index: 1), 400),
    ErrorCase("obs-fold", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", .obsoleteLineFolding(index: 1), 400),
    ErrorCase("whitespace before the first field", "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", .obsoleteLineFolding(index: 0), 400),
    ErrorCase("NUL in value", "GET / HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n", .invalidHeaderValue(name: "X-A"), 400),
    ErrorCase("ESC in value", "GET / HTTP/1.1\r\nX-A: \u{1B}[31m\r\n\r\n", .invalidHeaderValue(name: "X-A"), 400),
    ErrorCase("DEL in value", "GET / HTTP/1.1\r\nX-A: a\u{7F}\r\n\r\n", .invalidHeaderValue(name: "X-A"), 400),
    ErrorCase("bare CR in value", "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", .invalidHeaderValue(name: "X-A"), 400),
    ErrorCase("bad trailer name", chunkedPost + "0\r\nX(: y\r\n\r\n", .invalidHeaderName(index: 0), 400),
    ErrorCase("CTL in trailer value", chunkedPost + "0\r\nA: 1\r\nX: \u{1}\r\n\r\n", .invalidHeaderValue(name: "X"), 400),

    // 400: framing.
    ErrorCase("negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength("-1"), 400),
    ErrorCase("garbage Content-Length", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", .invalidContentLength("abc"), 400),
    ErrorCase("signed Content-Length", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .invalidContentLength("+5"), 400),
    ErrorCase("hex Content-Length", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength("0x10"), 400),
    ErrorCase("spaced Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", .invalidContentLength("1 2"), 400),
    ErrorCase("empty Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .invalidContentLength(""), 400),
    ErrorCase("overflowing Content-Length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
              .invalidContentLength("99999999999999999999"), 400),
    ErrorCase("differing Content-Length fields", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
              .invalidContentLength("6"), 400),
    ErrorCase("differing Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", .invalidContentLength("5, 6"), 400),
    ErrorCase("Content-Length list with empty element", "POST / HTTP/1.1\r\nContent-Length: 5,,5\r\n\r\n",
              .invalidContentLength("5,,5"), 400),
    ErrorCase("CL then TE", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
              .contentLengthWithTransferEncoding, 400),
    ErrorCase("TE then CL", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
              .contentLengthWithTransferEncoding, 400),
    ErrorCase("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10, 400),

    // 400: chunked body.
    ErrorCase("non-hex chunk size", chunkedPost + "g\r\n", .invalidChunkSize, 400),
    ErrorCase("hex prefix chunk size", chunkedPost + "0x5\r\n", .invalidChunkSize, 400),
    ErrorCase("negative chunk size", chunkedPost + "-5\r\n", .invalidChunkSize, 400),
    ErrorCase("missing chunk size", chunkedPost + "\r\n", .invalidChunkSize, 400),
    ErrorCase("extension without chunk size", chunkedPost + ";a=b\r\n", .invalidChunkSize, 400),
    ErrorCase("overflowing chunk size (16 digits)", chunkedPost + "8000000000000000\r\n", .invalidChunkSize, 400),
    ErrorCase("overflowing chunk size (17 digits)", chunkedPost + "fffffffffffffffff\r\n", .invalidChunkSize, 400),
    ErrorCase("CTL in chunk extension", chunkedPost + "5;a\u{1}b\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension, 400),
    ErrorCase("chunk line too long", chunkedPost + "5;" + String(repeating: "x", count: 40) + "\r\nhello\r\n",
              limits: .init(maxRequestLineBytes: 32), .chunkLineTooLong(limit: 32), 400),
    ErrorCase("chunk data too long", chunkedPost + "5\r\nhelloXY\r\n", .invalidChunkTerminator, 400),
    ErrorCase("chunk data followed by CR only", chunkedPost + "5\r\nhello\rX", .invalidChunkTerminator, 400),
]

@Suite("HTTPParseError")
struct HTTPParseErrorTests {
    @Test("fails with the same error at every split point", arguments: errorCases)
    func everySplitPoint(_ testCase: ErrorCase) {
        #expect(testCase.error.status == testCase.status)
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = drive(chunks, limits: testCase.limits)
            #expect(run.error == testCase.error, "\(label)")
        }
    }

    @Test("each case maps to its status")
    func statuses() {
        let expected: [(HTTPParseError, Int)] = [
            (.requestLineTooLong(limit: 1), 414), (.headTooLarge(limit: 1), 431), (.tooManyHeaders(limit: 1), 431),
            (.bodyTooLarge(limit: 1), 413), (.unsupportedTransferEncoding("gzip"), 501),
            (.unsupportedVersion(HTTPVersion(major: 2, minor: 0)), 505), (.invalidLineTerminator, 400),
            (.invalidRequestLine, 400), (.invalidMethod, 400), (.invalidTarget, 400), (.invalidVersion, 400),
            (.invalidHeaderName(index: 0), 400), (.whitespaceBeforeColon(index: 0), 400),
            (.obsoleteLineFolding(index: 0), 400), (.invalidHeaderValue(name: "x"), 400),
            (.invalidContentLength("x"), 400), (.contentLengthWithTransferEncoding, 400),
            (.transferEncodingInHTTP10, 400), (.invalidChunkSize, 400), (.invalidChunkExtension, 400),
            (.chunkLineTooLong(limit: 1), 400), (.invalidChunkTerminator, 400),
        ]
        for (error, status) in expected {
            #expect(error.status == status, "\(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test("framing errors are thrown before the head is reported")
    func noHeadBeforeFramingError() {
        let run = drive([bytes("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")])
        #expect(run.error == .contentLengthWithTransferEncoding)
        #expect(run.events.isEmpty)
    }
}
