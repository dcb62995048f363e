import GatewayBuffers
import GatewayHTTP1
import Testing

/// A step as a comparable value (the real steps carry pointers into the input).
enum Seen: Equatable {
    case head(String, continue100: Bool)
    case body(String)
    case uploadEnd
    case request(String, body: String)
    case reject(Int)
}

/// Drives an exchange the way the gateway's driver does, recording what it reports. `answer` is
/// called for each complete request and may respond at once.
struct ExchangeDriver {
    var exchange: HTTPServerExchange
    var seen: [Seen] = []
    var now: UInt64 = 0
    /// Called on `.head`: whether to stream this request's body.
    var stream: (HTTPRequestHead) -> Bool = { _ in false }

    static let s: UInt64 = 1_000_000_000
    static let policy = HTTPServerExchange.Policy(requestTimeoutNanos: 10 * s, keepAliveTimeoutNanos: 60 * s, maxBufferedBodyBytes: 16)

    init(maxBodyBytes: Int = 1 << 20) {
        exchange = HTTPServerExchange(limits: HTTPParserLimits(maxBodyBytes: maxBodyBytes), policy: Self.policy, now: 0)
    }

    mutating func feed(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { feed(UnsafeRawBufferPointer($0)) }
    }

    mutating func feed(_ input: UnsafeRawBufferPointer) {
        var rest = input
        while true {
            let (n, step) = exchange.next(rest, now: now)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            switch step {
            case .needMoreBytes:
                return
            case .head(let h, let c):
                seen.append(.head(h.target, continue100: c))
                if stream(h) { exchange.streamBody() }
            case .body(let chunk):
                seen.append(.body(String(decoding: chunk, as: UTF8.self)))
            case .uploadEnd:
                seen.append(.uploadEnd)
            case .request(let h):
                seen.append(.request(h.target, body: exchange.requestBody.description))
            case .reject(let r):
                seen.append(.reject(r.status))
            }
        }
    }

    /// Responds to the current request and feeds what was held meanwhile.
    mutating func respond(close: Bool = false) -> Bool {
        let keepAlive = exchange.respond(close: close, now: now)
        if keepAlive {
            let held = exchange.takeHeld()
            held.withUnsafeReadableBytes { feed($0) }
        }
        return keepAlive
    }
}

@Suite("HTTP server exchange")
struct HTTPServerExchangeTests {
    static let get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func pipelinedRequestsWaitForTheResponseBeforeThem() {
        var d = ExchangeDriver()
        d.feed(Self.get + "GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\n")
        #expect(d.seen == [.head("/a", continue100: false), .request("/a", body: "")])
        #expect(d.exchange.state == .answering && d.exchange.isWaiting && d.exchange.hasHeldBytes)
        d.feed("Host: x\r\n\r\n")
        #expect(d.seen.count == 2, "held while /a is answered")
        let r1 = d.respond()
        #expect(r1)
        #expect(d.seen.suffix(2) == [.head("/b", continue100: false), .request("/b", body: "")])
        let r2 = d.respond()
        #expect(r2)
        #expect(d.seen.suffix(2) == [.head("/c", continue100: false), .request("/c", body: "")])
        let r3 = d.respond()
        #expect(r3)
        #expect(d.exchange.state == .reading)
    }

    @Test func everySplitOfPipelinedRequestsGivesTheSameSteps() {
        let input = Array((Self.get + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\n").utf8)
        var whole = ExchangeDriver()
        input.withUnsafeBytes { whole.feed($0) }
        while whole.exchange.state == .answering { _ = whole.respond() }
        #expect(whole.seen.count == 6)
        #expect(whole.seen[3] == .request("/b", body: "abc"))
        for split in 1..<input.count {
            var d = ExchangeDriver()
            input[..<split].withUnsafeBytes { d.feed($0) }
            if d.exchange.state == .answering { _ = d.respond() }
            input[split...].withUnsafeBytes { d.feed($0) }
            while d.exchange.state == .answering { _ = d.respond() }
            #expect(d.seen == whole.seen, "split at \(split)")
        }
    }

    @Test func keepAliveFollowsTheRequestAndCloseRequests() {
        var d = ExchangeDriver()
        d.feed("GET /a HTTP/1.0\r\n\r\n")
        let r4 = d.respond()
        #expect(!r4, "HTTP/1.0 without keep-alive closes")
        #expect(d.exchange.state == .closing && d.exchange.isClosing)
        d.feed(Self.get)
        #expect(d.seen.count == 2, "nothing is parsed once closing")

        var e = ExchangeDriver()
        e.feed("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let r5 = e.respond()
        #expect(!r5)

        var f = ExchangeDriver()
        f.feed(Self.get)
        let r6 = f.respond(close: true)
        #expect(!r6, "the response itself may end the connection")
    }

    @Test func anHTTP11RequestWithoutHostIsRefused() {
        var d = ExchangeDriver()
        d.feed("GET /a HTTP/1.1\r\n\r\n")
        #expect(d.seen == [.reject(400)])
        #expect(d.exchange.state == .closing)
        var e = ExchangeDriver()
        e.feed("GET /a HTTP/1.0\r\n\r\n")
        #expect(e.seen == [.head("/a", continue100: false), .request("/a", body: "")], "HTTP/1.0 needs no Host")
    }

    @Test func expectContinueIsReportedOnTheHead() {
        var d = ExchangeDriver()
        d.feed("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
        #expect(d.seen == [.head("/a", continue100: true), .request("/a", body: "hi")])
    }

    @Test func aBufferedBodyOverTheLimitIsRefusedWith413() {
        var d = ExchangeDriver()
        d.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n" + String(repeating: "x", count: 17))
        #expect(d.seen == [.head("/a", continue100: false), .reject(413)])
        var e = ExchangeDriver(maxBodyBytes: 8)
        e.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
        #expect(e.seen == [.reject(413)], "the parser's own limit, known from Content-Length")
    }

    @Test func aStreamedBodyFlowsWhileTheNextRequestWaits() {
        var d = ExchangeDriver()
        d.stream = { _ in true }
        d.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        #expect(d.seen == [.head("/p", continue100: false), .body("abc")])
        #expect(!d.exchange.isWaiting, "body bytes are still wanted")
        #expect(!d.exchange.keepsAlive(), "a response now could not keep the connection")
        d.feed("def" + Self.get)
        #expect(d.seen.suffix(2) == [.body("def"), .uploadEnd])
        #expect(d.exchange.isWaiting && d.exchange.hasHeldBytes)
        #expect(d.exchange.keepsAlive())
        d.stream = { _ in false }
        let r7 = d.respond()
        #expect(r7)
        #expect(d.seen.suffix(2) == [.head("/a", continue100: false), .request("/a", body: "")])
    }

    @Test func aResponseBeforeTheStreamedBodyEndedClosesTheConnection() {
        var d = ExchangeDriver()
        d.stream = { _ in true }
        d.feed("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        let r8 = d.respond()
        #expect(!r8, "the rest of the body would be taken for a request")
    }

    @Test func timeoutsDependOnWhatIsInProgress() {
        var d = ExchangeDriver()
        #expect(d.exchange.deadline == 10 * ExchangeDriver.s, "a new connection has the request timeout")
        d.now = 5 * ExchangeDriver.s
        d.feed(Self.get)
        let r9 = d.exchange.timedOut(now: 20 * ExchangeDriver.s)
        #expect(r9 == .waitForResponse)
        #expect(d.exchange.deadline == 0, "the backend's own timeout applies")
        d.now = 21 * ExchangeDriver.s
        let r10 = d.respond()
        #expect(r10)
        #expect(d.exchange.deadline == 81 * ExchangeDriver.s, "keep-alive timeout after a response")
        d.now = 30 * ExchangeDriver.s
        d.feed("GET /b HTTP/1.1\r\n")
        #expect(d.exchange.deadline == 40 * ExchangeDriver.s, "the first byte of a request starts its timeout")
        let r11 = d.exchange.timedOut(now: 40 * ExchangeDriver.s)
        #expect(r11 == .requestTimeout)
        #expect(d.exchange.state == .closing)

        var idle = ExchangeDriver()
        let r12 = idle.exchange.timedOut(now: 10 * ExchangeDriver.s)
        #expect(r12 == .closeIdle)
    }

    @Test func eofAndDrainAnswerWhatIsInProgressThenClose() {
        var d = ExchangeDriver()
        let r13 = d.exchange.peerClosed()
        #expect(r13 == .closeNow)
        var e = ExchangeDriver()
        e.feed(Self.get + Self.get)
        let r14 = e.exchange.peerClosed()
        #expect(r14 == .closeAfterResponse)
        let r15 = e.respond()
        #expect(!r15, "keep-alive was asked for, but the peer is gone")
        #expect(e.seen.count == 2, "the pipelined request after the EOF is not served")
        var f = ExchangeDriver()
        f.feed("GET /a HTTP/1.1\r\nHost")
        let r16 = f.exchange.drain()
        #expect(r16 == .closeNow, "a partial request is dropped")
        var g = ExchangeDriver()
        g.feed(Self.get)
        let r17 = g.exchange.drain()
        #expect(r17 == .closeAfterResponse)
        #expect(g.exchange.closeRequested)
        let r18 = g.respond()
        #expect(!r18)
    }

    @Test func anUpgradeHandsOverWhatArrivedAfterTheRequest() {
        var d = ExchangeDriver()
        d.feed("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n\u{81}\u{80}")
        d.feed("more")
        let rest = d.exchange.upgrade()
        #expect(rest.readableArray == [0xC2, 0x81, 0xC2, 0x80] + Array("more".utf8))
        #expect(d.exchange.state == .upgraded && d.exchange.deadline == 0)
        d.feed(Self.get)
        #expect(d.seen.count == 2, "after an upgrade the bytes are not HTTP")
    }

    @Test func malformedRequestsAreRefusedWithTheParsersStatus() {
        var d = ExchangeDriver()
        d.feed("GET /a HTTP/1.1\nHost: x\n\n")
        #expect(d.seen == [.reject(400)])
        var e = ExchangeDriver()
        e.feed("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n")
        #expect(e.seen == [.reject(414)])
    }
}

@Suite("HTTP server exchange: the plain refusal response")
struct HTTPResponseWriterRejectionTests {
    func written(_ r: HTTPServerRejection) -> String {
        var b = ByteBuffer()
        HTTPResponseWriter.writeRejection(r, into: &b)
        return b.description
    }

    @Test func eachRefusalIsItsStatusWithConnectionClose() {
        #expect(written(.missingHost).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(written(.bodyTooLarge(limit: 5)).hasPrefix("HTTP/1.1 413 "))
        #expect(written(.malformed(.requestLineTooLong(limit: 8))).hasPrefix("HTTP/1.1 414 "))
        for r: HTTPServerRejection in [.missingHost, .bodyTooLarge(limit: 5), .malformed(.invalidMethod)] {
            let text = written(r)
            #expect(text.lowercased().contains("connection: close\r\n"), "\(r)")
            #expect(text.hasSuffix("\r\n\r\n" + HTTPResponseWriter.reasonPhrase(for: r.status) + "\n"))
        }
    }
}
