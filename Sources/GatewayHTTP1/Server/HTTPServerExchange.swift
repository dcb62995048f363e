public import GatewayBuffers

/// The server side of one HTTP/1.1 connection as a sans-IO state machine: it parses requests one at
/// a time, holds what arrives while a response is being produced (pipelining), decides keep-alive and
/// close-after-response, owns the read timeouts, buffers request bodies up to a limit (or hands them
/// through for streaming), and says when a request must be refused (missing `Host`, body too large,
/// malformed). It performs no I/O: its methods return what the caller must do.
///
/// The caller drives it like this:
/// ```
/// var rest = input
/// loop: while true {
///     let (n, step) = exchange.next(rest, now: now)
///     rest = UnsafeRawBufferPointer(rebasing: rest[n...])
///     switch step { case .needMoreBytes: break loop; case .request(let head): … respond … }
/// }
/// tcp.deadline = exchange.deadline
/// ```
/// and answers each `.request` with `respond(close:now:)`, right away or later; until then further
/// bytes are held and `next` reports `.needMoreBytes`. After a response, `takeHeld()` returns what
/// arrived meanwhile, to be fed the same way.
public struct HTTPServerExchange {
    /// Where the connection stands. One value, so that impossible combinations (answering while
    /// closed, streaming after an upgrade) cannot be represented.
    public enum State: Sendable, Equatable {
        /// Parsing requests; nothing is being answered.
        case reading
        /// A complete request is being answered (possibly asynchronously). Bytes that arrive are
        /// held until `respond`.
        case answering
        /// A request whose body is streamed to its consumer (`streamBody()`): body bytes still flow
        /// while its response may already be coming.
        case streaming
        /// A response that ends the connection was written or a request was refused: nothing more
        /// is parsed.
        case closing
        /// The connection switched protocols (`upgrade()`); the bytes belong to the new protocol.
        case upgraded
    }

    /// What the caller must do next, from `next(_:now:)`.
    public enum Step {
        /// Everything given was consumed, buffered or held: wait for more bytes.
        case needMoreBytes
        /// A request head arrived (body, if any, follows). `continue100`: the client asked for
        /// `100 Continue` and should get it now (its body will be read). The caller may call
        /// `streamBody()` now to receive the body as `.body` steps instead of buffered.
        case head(HTTPRequestHead, continue100: Bool)
        /// A piece of a streamed body (only after `streamBody()`). Valid during the step only.
        case body(UnsafeRawBufferPointer)
        /// The streamed body is complete; the response may be written whenever it is ready.
        case uploadEnd
        /// A complete request whose body (if any) is in `requestBody`. Answer it with `respond`.
        case request(HTTPRequestHead)
        /// The request must be refused; write the response for `rejection` (see
        /// `HTTPServerRejection.status`) and close. The exchange is `.closing`.
        case reject(HTTPServerRejection)
    }

    /// What a read timeout means, from `timedOut(now:)`.
    public enum TimeoutOutcome: Sendable, Equatable {
        /// An idle keep-alive connection: close it quietly.
        case closeIdle
        /// A request was partly received: answer 408 and close (the exchange is `.closing`).
        case requestTimeout
        /// A response is being produced; its own timeout (the backend's) applies. Nothing to do.
        case waitForResponse
    }

    /// What the peer's EOF or a drain means.
    public enum EndOutcome: Sendable, Equatable {
        /// Close now: nothing is in progress.
        case closeNow
        /// Answer what is in progress, then close (`respond` will say so).
        case closeAfterResponse
    }

    /// Timeouts and limits. Reading them per call lets a reloaded configuration apply to open
    /// connections.
    public struct Policy: Sendable, Equatable {
        /// Time allowed to receive a whole request, from its first byte (or from the connection's
        /// start). The gateway uses `handshakeTimeoutSeconds`.
        public var requestTimeoutNanos: UInt64
        /// Time an idle keep-alive connection is kept between requests.
        public var keepAliveTimeoutNanos: UInt64
        /// Largest buffered request body (streamed bodies are bounded by the parser's own limit).
        public var maxBufferedBodyBytes: Int
        /// Whether an HTTP/1.1 request without `Host` is refused with 400 (RFC 9112 §3.2 says a
        /// server MUST). True by default; an internal API that never routes by host may turn it off.
        public var requireHost: Bool
        /// Whether `Expect: 100-continue` is answered (the client otherwise waits about a second).
        public var answerContinue: Bool

        /// Creates a policy.
        public init(
            requestTimeoutNanos: UInt64, keepAliveTimeoutNanos: UInt64, maxBufferedBodyBytes: Int,
            requireHost: Bool = true, answerContinue: Bool = true
        ) {
            self.requestTimeoutNanos = requestTimeoutNanos
            self.keepAliveTimeoutNanos = keepAliveTimeoutNanos
            self.maxBufferedBodyBytes = maxBufferedBodyBytes
            self.requireHost = requireHost
            self.answerContinue = answerContinue
        }
    }

    /// The current state.
    public private(set) var state: State = .reading
    /// Limits and timeouts in force (the caller may replace it between requests).
    public var policy: Policy
    /// When the connection's read timeout fires (loop clock, nanoseconds); 0 means none. Copy it to
    /// the socket after each call.
    public private(set) var deadline: UInt64
    /// The head of the request being read or answered.
    public private(set) var currentHead: HTTPRequestHead?
    /// The body of the current request when it is buffered (not streamed).
    public private(set) var requestBody = ByteBuffer()

    private var parser: HTTPRequestParser
    /// Bytes received while parsing waits (pipelined requests, bytes after an upgrade request).
    private var held = ByteBuffer()
    /// The current request's body goes to the caller as `.body` steps.
    private var streamingBody = false
    /// A streamed body has been read to its end.
    private var streamedBodyComplete = false
    /// The peer half-closed or a drain began: the request in progress is the last one.
    public private(set) var closeRequested = false

    /// A connection that just opened at loop time `now`.
    /// - Parameters:
    ///   - limits: the request parser's limits; `maxBodyBytes` bounds streamed bodies, while
    ///     `policy.maxBufferedBodyBytes` bounds buffered ones.
    public init(limits: HTTPParserLimits, policy: Policy, now: UInt64) {
        self.parser = HTTPRequestParser(limits: limits)
        self.policy = policy
        self.deadline = now &+ policy.requestTimeoutNanos
    }

    /// Whether parsing must wait for a response before reading further requests.
    public var isWaiting: Bool {
        switch state {
        case .reading: false
        case .streaming: streamedBodyComplete
        case .answering, .closing, .upgraded: true
        }
    }

    /// Whether bytes that arrive now are to be ignored (the connection is closing).
    public var isClosing: Bool { state == .closing }

    /// Whether received bytes are waiting to be parsed.
    public var hasHeldBytes: Bool { !held.isEmpty }

    /// Parses `input` up to the next step. Returns how many bytes were consumed (all of them when
    /// parsing waits: they are held) and the step.
    public mutating func next(_ input: UnsafeRawBufferPointer, now: UInt64) -> (consumed: Int, step: Step) {
        switch state {
        case .closing:
            return (input.count, .needMoreBytes)
        case .answering, .upgraded:
            hold(input)
            return (input.count, .needMoreBytes)
        case .streaming where streamedBodyComplete:
            hold(input)
            return (input.count, .needMoreBytes)
        case .reading, .streaming:
            break
        }
        if parser.isIdle && !input.isEmpty { deadline = now &+ policy.requestTimeoutNanos }
        var step = Step.needMoreBytes
        let consumed: Int
        do {
            consumed = try parser.feed(input) { event in
                switch event {
                case .head(let head):
                    currentHead = head
                    requestBody.clear()
                    streamingBody = false
                    streamedBodyComplete = false
                    if policy.requireHost && head.version == .http1_1 && head.headers["host"] == nil {
                        step = .reject(.missingHost)
                    } else {
                        let expects = policy.answerContinue && head.version == .http1_1
                            && head.headers.contains(name: "expect", token: "100-continue")
                        step = .head(head, continue100: expects)
                    }
                    return .pause
                case .body(let chunk):
                    if streamingBody {
                        step = .body(chunk)
                        return .pause
                    }
                    if requestBody.readableBytes + chunk.count > policy.maxBufferedBodyBytes {
                        step = .reject(.bodyTooLarge(limit: policy.maxBufferedBodyBytes))
                        return .pause
                    }
                    requestBody.write(chunk)
                    return .proceed
                case .end:
                    if streamingBody {
                        streamedBodyComplete = true
                        step = .uploadEnd
                    } else if let head = currentHead {
                        state = .answering
                        step = .request(head)
                    }
                    return .pause
                }
            }
        } catch {
            if case .bodyTooLarge(let limit) = error {
                state = .closing
                return (input.count, .reject(.bodyTooLarge(limit: limit)))
            }
            state = .closing
            return (input.count, .reject(.malformed(error)))
        }
        if case .reject = step { state = .closing }
        return (consumed, step)
    }

    /// Receive the current request's body as `.body` steps (call on its `.head` step), for a
    /// consumer that streams it (a reverse proxy). The response may be written before the body ends.
    public mutating func streamBody() {
        guard state == .reading, currentHead != nil else { return }
        streamingBody = true
        state = .streaming
    }

    /// Before writing the response to the current request: decides whether the connection stays
    /// open after it, and moves on. Write the response with `keepAlive` set to the returned value,
    /// then close the connection if it is false, or feed `takeHeld()` if it is true.
    /// - Parameter close: the response itself ends the connection (an error the caller treats as
    ///   fatal, a close-delimited body).
    /// - Returns: whether the connection stays open: the request asked for keep-alive, no close was
    ///   requested (`close`, EOF, drain), and a streamed body was read completely.
    public mutating func respond(close: Bool = false, now: UInt64) -> Bool {
        let keepAlive = keepsAlive(close: close)
        streamingBody = false
        streamedBodyComplete = false
        currentHead = nil
        requestBody.clear()
        requestBody.releaseCapacityIfEmpty(above: 64 * 1024)
        if keepAlive {
            state = .reading
            deadline = now &+ policy.keepAliveTimeoutNanos
        } else {
            state = .closing
        }
        return keepAlive
    }

    /// What `respond(close:now:)` would decide now, without moving on: for a response head written
    /// before the response is complete (a streamed proxy response).
    public func keepsAlive(close: Bool = false) -> Bool {
        guard currentHead?.isKeepAlive == true, !close, !closeRequested else { return false }
        switch state {
        case .answering:
            return true
        case .streaming:
            // A body not read to its end leaves the next request's start unknown.
            return streamedBodyComplete
        case .reading, .closing, .upgraded:
            return false
        }
    }

    /// Refuses the current request (or the connection) with `rejection`: write its response and
    /// close. Returns the rejection for convenience.
    public mutating func reject(_ rejection: HTTPServerRejection) -> HTTPServerRejection {
        state = .closing
        return rejection
    }

    /// The connection switches protocols after the current request (a WebSocket 101). Returns the
    /// bytes that arrived after the request: they belong to the new protocol.
    public mutating func upgrade() -> ByteBuffer {
        state = .upgraded
        currentHead = nil
        deadline = 0
        return takeHeld()
    }

    /// The bytes that arrived while parsing waited; feed them to `next` after a response.
    public mutating func takeHeld() -> ByteBuffer {
        var b = ByteBuffer()
        swap(&b, &held)
        return b
    }

    /// The read deadline passed.
    public mutating func timedOut(now: UInt64) -> TimeoutOutcome {
        switch state {
        case .answering, .streaming:
            deadline = 0
            return .waitForResponse
        case .reading where !parser.isIdle || currentHead != nil:
            state = .closing
            return .requestTimeout
        case .reading, .closing, .upgraded:
            state = .closing
            return .closeIdle
        }
    }

    /// The peer finished sending (EOF): answer what is in progress, then close.
    public mutating func peerClosed() -> EndOutcome {
        end()
    }

    /// A graceful shutdown began: no new requests; what is in progress is answered with
    /// `Connection: close`.
    public mutating func drain() -> EndOutcome {
        end()
    }

    private mutating func end() -> EndOutcome {
        closeRequested = true
        switch state {
        case .answering, .streaming:
            return .closeAfterResponse
        case .reading, .closing, .upgraded:
            // A request that is only partly here can never complete: drop it.
            state = .closing
            return .closeNow
        }
    }

    private mutating func hold(_ input: UnsafeRawBufferPointer) {
        if !input.isEmpty { held.write(input) }
    }
}

/// The exchange belongs to one connection on one event loop.
@available(*, unavailable)
extension HTTPServerExchange: Sendable {}
