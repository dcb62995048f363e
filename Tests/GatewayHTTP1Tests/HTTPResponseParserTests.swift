import GatewayHTTP1
import Testing

/// A response stream that must parse, and the events it must produce however it is split.
struct ValidResponseCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    /// The requests announced before any byte is fed, in order.
    var requests: [SentRequest] = [.get]
    /// Whether the backend closes the connection after the input (`finish`).
    var finish = false
    var expected: [RecordedResponse]
    /// `lastResponseMustClose` after the last response.
    var mustClose = false
    var testDescription: String { name }
}

/// `count` bytes of a repeating printable pattern.
func patternBytes(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(ascii: "a") + UInt8($0 % 26) }
}

/// `body` as a chunked body in chunks of the given sizes (cycled), with a final empty chunk.
func chunked(_ body: [UInt8], sizes: [Int]) -> [UInt8] {
    var out: [UInt8] = []
    var offset = 0
    var index = 0
    while offset < body.count {
        let size = min(sizes[index % sizes.count], body.count - offset)
        out += bytes(String(size, radix: 16) + "\r\n") + body[offset..<(offset + size)] + bytes("\r\n")
        offset += size
        index += 1
    }
    return out + bytes("0\r\n\r\n")
}

private let bigBody = patternBytes(2500)

let validResponseCases: [ValidResponseCase] = [
    ValidResponseCase(
        name: "200 with Content-Length",
        input: bytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"ok\": true}\n"),
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Type", "application/json"), ("Content-Length", "13")]),
            .body(bytes("{\"ok\": true}\n")), .end,
        ]
    ),
    ValidResponseCase(
        name: "chunked with extensions and trailers",
        input: bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6 ; a=b;c=\"q d\"\r\n world\r\nA\r\n0123456789\r\n"
                + "0;last\r\nX-Checksum: abc\r\nX-Other:1\r\n\r\n"
        ),
        expected: [
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked")]),
            .body(bytes("hello world0123456789")), .end,
        ]
    ),
    ValidResponseCase(
        name: "empty chunked body, mixed-case coding, leading zeros",
        input: bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n000\r\n\r\n"),
        expected: [responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "Chunked")]), .end]
    ),
    ValidResponseCase(
        name: "204 has no body",
        input: bytes("HTTP/1.1 204 No Content\r\nX-Request-Id: 7\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        requests: [.get, .get],
        expected: [
            responseHead(204, "No Content", .http1_1, [("X-Request-Id", "7")]), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "2")]), .body(bytes("ok")), .end,
        ]
    ),
    ValidResponseCase(
        name: "304 with Content-Length has no body",
        input: bytes(
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        ),
        requests: [.get, .get],
        expected: [
            responseHead(304, "Not Modified", .http1_1, [("ETag", "\"x\""), ("Content-Length", "1234")]), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "0")]), .end,
        ]
    ),
    ValidResponseCase(
        name: "HEAD response with Content-Length has no body",
        input: bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        requests: [.head, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Length", "5")]), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "5")]), .body(bytes("hello")), .end,
        ]
    ),
    ValidResponseCase(
        name: "framing fields of bodiless responses are not interpreted",
        input: bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: nonsense\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n"
                + "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        ),
        requests: [.head, .get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked"), ("Content-Length", "nonsense")]), .end,
            responseHead(204, "No Content", .http1_1, [("Transfer-Encoding", "gzip")]), .end,
            responseHead(304, "Not Modified", .http1_1, [("Content-Length", "5"), ("Content-Length", "6")]), .end,
        ]
    ),
    ValidResponseCase(
        name: "100 Continue then 200",
        input: bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
        expected: [
            responseHead(100, "Continue"), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "3")]), .body(bytes("abc")), .end,
        ]
    ),
    ValidResponseCase(
        name: "several interim responses; the final one consumes the request",
        input: bytes(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
        ),
        requests: [.get, .head],
        expected: [
            responseHead(103, "Early Hints", .http1_1, [("Link", "</style.css>; rel=preload")]), .end,
            responseHead(100, "Continue"), .end,
            responseHead(201, "Created", .http1_1, [("Content-Length", "0")]), .end,
            responseHead(100, "Continue", .http1_1, [("Connection", "close")]), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "10")]), .end,
        ]
    ),
    ValidResponseCase(
        name: "101 Switching Protocols ends the connection",
        input: bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        expected: [
            responseHead(101, "Switching Protocols", .http1_1, [("Upgrade", "websocket"), ("Connection", "Upgrade")]),
            .end,
        ],
        mustClose: true
    ),
    ValidResponseCase(
        name: "close-delimited body ended by finish",
        input: bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until the close\r\n\r\nHTTP/1.1 200 OK\r\n"),
        finish: true,
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Type", "text/plain")]),
            .body(bytes("all of this until the close\r\n\r\nHTTP/1.1 200 OK\r\n")), .end,
        ],
        mustClose: true
    ),
    ValidResponseCase(
        name: "empty close-delimited body",
        input: bytes("HTTP/1.1 200 OK\r\n\r\n"),
        finish: true,
        expected: [responseHead(200, "OK"), .end],
        mustClose: true
    ),
    ValidResponseCase(
        name: "pipelined responses back to back",
        input: bytes(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\n\r\n"
                + "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops"
        ),
        requests: [.get, .get, .head, .get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Length", "5")]), .body(bytes("first")), .end,
            responseHead(404, "Not Found", .http1_1, [("Transfer-Encoding", "chunked")]), .body(bytes("not found")), .end,
            responseHead(200, "OK", .http1_1, [("Content-Length", "100")]), .end,
            responseHead(204, "No Content"), .end,
            responseHead(500, "Internal Server Error", .http1_1, [("Content-Length", "4"), ("Connection", "close")]),
            .body(bytes("oops")), .end,
        ],
        mustClose: true
    ),
    ValidResponseCase(
        name: "HTTP/1.0 response",
        input: bytes("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        expected: [responseHead(200, "OK", .http1_0, [("Content-Length", "2")]), .body(bytes("hi")), .end],
        mustClose: true
    ),
    ValidResponseCase(
        name: "HTTP/1.0 keep-alive responses",
        input: bytes(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
                + "HTTP/1.0 204 No Content\r\nConnection: Keep-Alive\r\n\r\n"
        ),
        requests: [.get, .get],
        expected: [
            responseHead(200, "OK", .http1_0, [("Connection", "keep-alive"), ("Content-Length", "2")]),
            .body(bytes("hi")), .end,
            responseHead(204, "No Content", .http1_0, [("Connection", "Keep-Alive")]), .end,
        ]
    ),
    ValidResponseCase(
        name: "HTTP/1.0 close-delimited body",
        input: bytes("HTTP/1.0 200 OK\r\nServer: old\r\n\r\n<html></html>"),
        finish: true,
        expected: [responseHead(200, "OK", .http1_0, [("Server", "old")]), .body(bytes("<html></html>")), .end],
        mustClose: true
    ),
    ValidResponseCase(
        name: "bare LF line endings everywhere",
        input: bytes(
            "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc"
                + "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n4;x=y\nwxyz\n2\nab\n0\nTrailer: t\n\n"
                + "HTTP/1.1 100 Continue\n\nHTTP/1.1 204 No Content\nX: y\n\n"
        ),
        requests: [.get, .get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Length", "3")]), .body(bytes("abc")), .end,
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked")]), .body(bytes("wxyzab")), .end,
            responseHead(100, "Continue"), .end,
            responseHead(204, "No Content", .http1_1, [("X", "y")]), .end,
        ]
    ),
    ValidResponseCase(
        name: "CRLF and bare LF mixed",
        input: bytes(
            "HTTP/1.1 200 OK\nA: 1\r\nContent-Length: 5\n\r\nhello"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\n\r\n3\r\nabc\n1\nd\r\n0\n\r\n"
        ),
        requests: [.get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("A", "1"), ("Content-Length", "5")]), .body(bytes("hello")), .end,
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked")]), .body(bytes("abcd")), .end,
        ]
    ),
    ValidResponseCase(
        name: "status lines without or with odd reason phrases",
        input: bytes(
            "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"
                + "HTTP/1.1 599 Very  Custom\tReason café \r\nContent-Length: 0\r\n\r\nHTTP/1.1 999 X\r\n\r\n"
        ),
        requests: [.get, .get, .get, .head],
        expected: [
            responseHead(200, "", .http1_1, [("Content-Length", "0")]), .end,
            responseHead(404, "", .http1_1, [("Content-Length", "0")]), .end,
            responseHead(599, "Very  Custom\tReason café ", .http1_1, [("Content-Length", "0")]), .end,
            responseHead(999, "X"), .end,
        ]
    ),
    ValidResponseCase(
        name: "headers with odd spacing, whitespace before the colon removed",
        input: bytes(
            "HTTP/1.1 200 OK\r\nX-Spaced :  spaced  value \t \r\nContent-Length\t: 2\r\nX-Empty:\r\nSet-Cookie: a=b; Path=/\r\n"
                + "Set-Cookie: c=d\r\n\r\nok"
        ),
        expected: [
            responseHead(200, "OK", .http1_1, [
                ("X-Spaced", "spaced  value"), ("Content-Length", "2"), ("X-Empty", ""), ("Set-Cookie", "a=b; Path=/"),
                ("Set-Cookie", "c=d"),
            ]),
            .body(bytes("ok")), .end,
        ]
    ),
    ValidResponseCase(
        name: "empty lines before a status line are skipped",
        input: bytes("\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\r\nHTTP/1.1 204 No Content\r\n\r\n"),
        requests: [.get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Length", "1")]), .body(bytes("x")), .end,
            responseHead(204, "No Content"), .end,
        ]
    ),
    ValidResponseCase(
        name: "identical duplicate Content-Length",
        input: bytes("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 003\r\n\r\nabc"),
        expected: [
            responseHead(200, "OK", .http1_1, [("Content-Length", "3, 3"), ("content-length", "003")]),
            .body(bytes("abc")), .end,
        ]
    ),
    ValidResponseCase(
        name: "codings before chunked: chunked is decoded, the rest left in the body",
        input: bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked,\r\n\r\n1\r\ny\r\n0\r\n\r\n"
        ),
        requests: [.get, .get],
        expected: [
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "gzip, chunked")]), .body(bytes("zz")), .end,
            responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked,")]),
            .body(bytes("y")), .end,
        ]
    ),
    ValidResponseCase(
        name: "big chunked body in many chunks",
        input: bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + chunked(bigBody, sizes: [1, 0xFF, 1000, 7]),
        expected: [responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked")]), .body(bigBody), .end]
    ),
    ValidResponseCase(
        name: "big Content-Length body",
        input: bytes("HTTP/1.1 200 OK\r\nContent-Length: 2500\r\n\r\n") + bigBody,
        expected: [responseHead(200, "OK", .http1_1, [("Content-Length", "2500")]), .body(bigBody), .end]
    ),
]

@Suite("HTTPResponseParser")
struct HTTPResponseParserTests {
    @Test("same events whole, at every split point, and byte by byte; fields collected or reported one by one",
          arguments: validResponseCases, [true, false])
    func everySplitPoint(_ testCase: ValidResponseCase, collectsFields: Bool) {
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = driveResponses(chunks, requests: testCase.requests, finish: testCase.finish, collectsFields: collectsFields)
            #expect(run.error == nil, "\(label)")
            #expect(run.events == testCase.expected, "\(label)")
            #expect(run.ends == testCase.expected.count(where: { $0 == .end }), "\(label)")
            #expect(run.leftover.isEmpty, "\(label)")
            #expect(run.mustClose == testCase.mustClose, "\(label)")
            #expect(run.expectedResponses == 0, "\(label)")
            #expect(run.isIdle, "\(label)")
        }
    }

    @Test("same events when pausing after every event", arguments: validResponseCases, [true, false])
    func pauseEverywhere(_ testCase: ValidResponseCase, collectsFields: Bool) {
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = driveResponses(chunks, requests: testCase.requests, finish: testCase.finish, pauseOn: { _ in true },
                                     collectsFields: collectsFields)
            #expect(run.error == nil, "\(label)")
            #expect(run.events == testCase.expected, "\(label)")
            #expect(run.leftover.isEmpty, "\(label)")
            #expect(run.mustClose == testCase.mustClose, "\(label)")
        }
    }

    @Test("the announced request decides whether a response has a body")
    func headRequestDecidesBody() {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
        let asHead = driveResponses([input], requests: [.head])
        #expect(asHead.error == nil)
        #expect(asHead.events == [responseHead(200, "OK", .http1_1, [("Content-Length", "3")]), .end])
        let asGet = driveResponses([input], requests: [.get])
        #expect(asGet.error == nil)
        #expect(asGet.events == [responseHead(200, "OK", .http1_1, [("Content-Length", "3")])])
        #expect(!asGet.isIdle, "waiting for the body")
    }

    @Test(
        "a big body in pieces: every piece aliases its input, the bytes and one .end add up",
        arguments: [
            ("Content-Length", false), ("chunked", false), ("close-delimited", true),
        ]
    )
    func bigBodyInPieces(_ framing: String, _ closeDelimited: Bool) throws {
        let body = patternBytes(1 << 20)
        let input: [UInt8] = switch framing {
        case "Content-Length": bytes("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n") + body
        case "chunked": bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + chunked(body, sizes: [65536, 4093, 1])
        default: bytes("HTTP/1.1 200 OK\r\n\r\n") + body
        }
        // Irregular read sizes, like a socket's.
        let readSizes = [1, 4096, 17, 65536, 1000, 3]
        var parser = HTTPResponseParser()
        parser.expect(headRequest: false)
        var received: [UInt8] = []
        received.reserveCapacity(body.count)
        var pieces = 0
        var ends = 0
        var offset = 0
        var index = 0
        while offset < input.count {
            let end = min(offset + readSizes[index % readSizes.count], input.count)
            let chunk = Array(input[offset..<end])
            let consumed = try chunk.withUnsafeBytes { raw in
                try parser.feed(raw) { event in
                    switch event {
                    case .head, .field: break
                    case .body(let piece):
                        let start = raw.baseAddress.map { UnsafeRawPointer($0) }
                        #expect(piece.baseAddress.map { p in start.map { p >= $0 && p + piece.count <= $0 + raw.count } ?? false } == true)
                        received += piece
                        pieces += 1
                    case .end: ends += 1
                    }
                    return .proceed
                }
            }
            #expect(consumed == chunk.count)
            offset = end
            index += 1
        }
        if closeDelimited {
            #expect(ends == 0)
            try parser.finish { event in
                if case .end = event { ends += 1 }
                return .proceed
            }
        }
        #expect(ends == 1)
        #expect(received == body)
        #expect(pieces > 1)
        #expect(parser.isIdle)
    }

    @Test("a 64 KiB body byte by byte")
    func bodyByteByByte() {
        let body = patternBytes(65536)
        let input = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + chunked(body, sizes: [40000, 1])
        let run = driveResponses(input.map { [$0] }, requests: [.get])
        #expect(run.error == nil)
        #expect(run.events == [responseHead(200, "OK", .http1_1, [("Transfer-Encoding", "chunked")]), .body(body), .end])
    }
}
