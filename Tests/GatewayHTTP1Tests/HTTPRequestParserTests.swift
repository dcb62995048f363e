import GatewayHTTP1
import Testing

/// A request stream that must parse, and the events it must produce however it is split.
struct ValidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var expected: [Recorded]
    var testDescription: String { name }
}

let validCases: [ValidCase] = [
    ValidCase(
        name: "simple GET",
        input: bytes("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        expected: [requestHead(.GET, "/", .http1_1, [("Host", "example.com")]), .end]
    ),
    ValidCase(
        name: "GET with query",
        input: bytes("GET /search?q=swift&lang=en HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
        expected: [requestHead(.GET, "/search?q=swift&lang=en", .http1_1, [("Host", "example.com"), ("Accept", "*/*")]), .end]
    ),
    ValidCase(
        name: "POST with Content-Length",
        input: bytes("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"),
        expected: [
            requestHead(.POST, "/submit", .http1_1, [("Host", "a"), ("Content-Type", "text/plain"), ("Content-Length", "11")]),
            .body(bytes("hello world")), .end,
        ]
    ),
    ValidCase(
        name: "POST chunked with extensions and trailers",
        input: bytes(
            "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6 ; a=b;c=\"q d\"\r\n world\r\nA\r\n0123456789\r\n"
                + "0;last\r\nX-Checksum: abc\r\nX-Other:1\r\n\r\n"
        ),
        expected: [
            requestHead(.POST, "/upload", .http1_1, [("Host", "a"), ("Transfer-Encoding", "chunked")]),
            .body(bytes("hello world0123456789")), .end,
        ]
    ),
    ValidCase(
        name: "empty chunked body, mixed-case coding",
        input: bytes("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n000\r\n\r\n"),
        expected: [requestHead(.POST, "/", .http1_1, [("Transfer-Encoding", "Chunked")]), .end]
    ),
    ValidCase(
        name: "two pipelined requests",
        input: bytes("GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
        expected: [
            requestHead(.GET, "/a", .http1_1, [("Host", "a")]), .end,
            requestHead(.POST, "/b", .http1_1, [("Content-Length", "3")]), .body(bytes("abc")), .end,
        ]
    ),
    ValidCase(
        name: "three pipelined requests",
        input: bytes(
            "GET /1 HTTP/1.1\r\n\r\n"
                + "PUT /2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "DELETE /3 HTTP/1.1\r\nConnection: close\r\n\r\n"
        ),
        expected: [
            requestHead(.GET, "/1"), .end,
            requestHead(.PUT, "/2", .http1_1, [("Transfer-Encoding", "chunked")]), .body(bytes("abc")), .end,
            requestHead(.DELETE, "/3", .http1_1, [("Connection", "close")]), .end,
        ]
    ),
    ValidCase(
        name: "HTTP/1.0 keep-alive",
        input: bytes(
            "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\nPOST /old HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
        ),
        expected: [
            requestHead(.GET, "/old", .http1_0, [("Connection", "keep-alive")]), .end,
            requestHead(.POST, "/old", .http1_0, [("Connection", "keep-alive"), ("Content-Length", "2")]),
            .body(bytes("hi")), .end,
        ]
    ),
    ValidCase(
        name: "headers with odd spacing",
        input: bytes(
            "GET / HTTP/1.1\r\nHost:example.com\r\nX-Spaced:   spaced  value \t \r\nX-Empty:\r\nX-Tab:\tv\r\n"
                + "X-Blank:    \r\nX-UTF8: café\r\n\r\n"
        ),
        expected: [
            requestHead(.GET, "/", .http1_1, [
                ("Host", "example.com"), ("X-Spaced", "spaced  value"), ("X-Empty", ""), ("X-Tab", "v"),
                ("X-Blank", ""), ("X-UTF8", "café"),
            ]),
            .end,
        ]
    ),
    ValidCase(
        name: "empty lines before the request line are skipped",
        input: bytes("\r\n\r\nGET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\nGET /z HTTP/1.1\r\n\r\n"),
        expected: [
            requestHead(.GET, "/"), .end,
            requestHead(.POST, "/", .http1_1, [("Content-Length", "1")]), .body(bytes("x")), .end,
            requestHead(.GET, "/z"), .end,
        ]
    ),
    ValidCase(
        name: "asterisk-form, absolute-form and other methods",
        input: bytes("OPTIONS * HTTP/1.1\r\n\r\nGET http://example.com/x?y HTTP/1.1\r\n\r\nPROPFIND /dav HTTP/1.1\r\n\r\n"),
        expected: [
            requestHead(.OPTIONS, "*"), .end,
            requestHead(.GET, "http://example.com/x?y"), .end,
            requestHead(.other("PROPFIND"), "/dav"), .end,
        ]
    ),
    ValidCase(
        name: "identical duplicate Content-Length and zero length",
        input: bytes("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\ncontent-length: 003\r\n\r\nabcPOST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        expected: [
            requestHead(.POST, "/", .http1_1, [("Content-Length", "3, 3"), ("content-length", "003")]), .body(bytes("abc")), .end,
            requestHead(.POST, "/", .http1_1, [("Content-Length", "0")]), .end,
        ]
    ),
]

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    @Test("same events at every split point", arguments: validCases)
    func everySplitPoint(_ testCase: ValidCase) {
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = drive(chunks)
            #expect(run.error == nil, "\(label)")
            #expect(run.events == testCase.expected, "\(label)")
            #expect(run.leftover.isEmpty, "\(label)")
        }
    }

    @Test("same events when pausing after every event", arguments: validCases)
    func pauseEverywhere(_ testCase: ValidCase) {
        for (label, chunks) in everySplit(of: testCase.input) {
            let run = drive(chunks, pauseOn: { _ in true })
            #expect(run.error == nil, "\(label)")
            #expect(run.events == testCase.expected, "\(label)")
            #expect(run.leftover.isEmpty, "\(label)")
        }
    }

    @Test("WebSocket upgrade: bytes after the request are not consumed when pausing at .end")
    func upgradeLeavesFrameBytes() {
        let request = bytes(
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        // A masked text frame "Hello" (RFC 6455 §5.7); it starts with what looks like nothing HTTP.
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        let expectedHead = requestHead(.GET, "/chat", .http1_1, [
            ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ])
        for (label, chunks) in everySplit(of: request + frame) {
            let run = drive(chunks, pauseOn: { $0 == .end }, stopAtPause: true)
            #expect(run.error == nil, "\(label)")
            #expect(run.events == [expectedHead, .end], "\(label)")
            #expect(run.leftover == frame, "\(label)")
        }
    }

    @Test("a pause on a body piece returns right after that piece")
    func pauseOnBody() throws {
        var parser = HTTPRequestParser()
        let input = bytes("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd")
        var pieces = 0
        let consumed = try input.withUnsafeBytes { raw in
            try parser.feed(raw) { event in
                if case .body = event {
                    pieces += 1
                    return .pause
                }
                return .proceed
            }
        }
        #expect(consumed == input.count)
        #expect(pieces == 1)
        #expect(!parser.isIdle)
    }

    @Test("isIdle is true only between requests")
    func idle() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle)
        func feed(_ string: String) throws {
            _ = try bytes(string).withUnsafeBytes { raw in try parser.feed(raw) { _ in .proceed } }
        }
        try feed("\r\n")
        #expect(parser.isIdle, "a skipped empty line is not a request")
        try feed("G")
        #expect(!parser.isIdle)
        try feed("ET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
        #expect(!parser.isIdle, "waiting for the body")
        try feed("ok")
        #expect(parser.isIdle)
        try feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n")
        #expect(!parser.isIdle, "waiting for the trailer section")
        try feed("\r\n")
        #expect(parser.isIdle)
    }

    @Test("an error is sticky: later feeds throw it again and nothing is reported")
    func stickyError() {
        var parser = HTTPRequestParser()
        var events = 0
        for input in ["GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\n\r\n", ""] {
            #expect(throws: HTTPParseError.invalidLineTerminator) {
                _ = try bytes(input).withUnsafeBytes { raw in
                    try parser.feed(raw) { _ in
                        events += 1
                        return .proceed
                    }
                }
            }
        }
        #expect(events == 0)
        #expect(!parser.isIdle)
    }

    @Test("keep-alive follows the version and Connection")
    func keepAlive() {
        let run = drive([bytes(
            "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
                + "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        )])
        let keepAlive = run.events.compactMap { event -> Bool? in
            if case .head(let head) = event { return head.isKeepAlive }
            return nil
        }
        #expect(keepAlive == [false, true, true, false])
    }
}
