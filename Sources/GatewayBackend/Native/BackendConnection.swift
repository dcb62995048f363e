internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

/// One keep-alive HTTP/1.1 connection to a backend origin, carrying calls in order (one at a time, or
/// pipelined up to the pool's depth). Responses are matched to calls by order; the sans-IO
/// `HTTPResponseParser` does the framing.
final class BackendConnection: ConnectionHandler {
    unowned(unsafe) let pool: OriginPool
    /// Where this connection goes (for a host name: the address the rotation gave it).
    let address: SocketAddress
    var tcp: TCPConnection?
    /// Calls sent on this connection and not answered yet, oldest first.
    private(set) var inflight: [(request: BackendCall, target: NativeTarget)] = []
    /// Fields arrive as `.field` events and are kept as bytes: a reply's head costs no allocation.
    private var parser: HTTPResponseParser = {
        var p = HTTPResponseParser()
        p.collectsFields = false
        return p
    }()
    /// Whether a response byte has arrived for the oldest call (a dead keep-alive connection is
    /// retried only when nothing did).
    private var receivedForHead = false
    /// Responses completed on this connection: a call that dies on a reused connection before any
    /// response byte is retried once on a fresh one.
    private var completed = 0
    private var connected = false
    private var closing = false
    /// Its address left the host name's answer: no new calls, closed once the ones in flight end.
    private var retiring = false
    private var timer: LoopTimer?
    /// Set by the parser callback at a final response's end; handled once `feed` has returned (the
    /// parser must not be read while it is calling us).
    private var responseEnded = false

    init(pool: OriginPool, address: SocketAddress) {
        self.pool = pool
        self.address = address
    }

    /// Whether new calls may be sent here.
    var canAccept: Bool { !closing && !retiring }

    /// Takes no new calls from now on and closes once the ones in flight are answered (the host
    /// name's answer no longer lists this connection's address).
    func retire() {
        guard !closing, !retiring else { return }
        retiring = true
        if inflight.isEmpty { shutdown(error: .cancelled) }
    }

    /// Starts connecting; returns the error when no socket could be created. Calls can be sent at
    /// once: they are queued until the connection is up.
    func connect() -> IOError? {
        let c: TCPConnection
        do throws(IOError) {
            c = try pool.client.loop.connect(to: address, handler: self)
        } catch {
            return error
        }
        tcp = c
        timer = pool.client.loop.makeTimer { [unowned(unsafe) self] in self.deadlinePassed() }
        return nil
    }

    /// Sends a call: the request is encoded straight into the connection's send queue.
    func send(_ r: BackendCall, target: NativeTarget) {
        guard let tcp, !closing else {
            pool.client.complete(r, error: .unavailable("connection closed"))
            return
        }
        r.nativeAttempts += 1
        inflight.append((r, target))
        parser.expect(headRequest: r.spec.method == "HEAD", maxBodyBytes: r.spec.maxResponseBytes)
        tcp.write { b in
            b.write(string: r.spec.method)
            b.write(byte: UInt8(ascii: " "))
            b.write(string: target.target)
            b.write(string: " HTTP/1.1\r\nHost: ")
            b.write(string: target.hostHeader)
            if r.spec.hasBody {
                b.write(string: "\r\nContent-Type: ")
                b.write(string: r.spec.contentType)
            }
            b.write(string: "\r\nContent-Length: ")
            b.write(decimal: r.spec.hasBody ? r.spec.body.readableBytes : 0)
            b.write(string: "\r\n")
            if !r.spec.hasEmptyHeader {
                // The lines are `Name: value\r\n` already: one copy.
                b.write(buffer: r.spec.headerLines)
            } else {
                r.spec.forEachHeaderLine { line in
                    // `Name:` with an empty value is a libcurl removal marker: nothing to send here.
                    if let last = line.last, last != UInt8(ascii: ":") && last != UInt8(ascii: " ") {
                        b.write(line)
                        b.write(string: "\r\n")
                    }
                }
            }
            b.write(string: "\r\n")
            if r.spec.hasBody { b.write(buffer: r.spec.body) }
        }
        if inflight.count == 1 { armTimer() }
    }

    // MARK: Timeouts

    private func armTimer() {
        guard let first = inflight.first else {
            timer?.cancel()
            // Idle keep-alive: close after a while.
            tcp?.deadline = pool.client.loop.now &+ NativeHTTP1Transport.idleNanos
            return
        }
        tcp?.deadline = 0
        timer?.schedule(at: first.request.startedAt &+ UInt64(first.request.spec.timeoutMs) * 1_000_000)
    }

    private func deadlinePassed() {
        guard let first = inflight.first else { return }
        // The oldest call timed out; calls pipelined behind it cannot be answered on this connection
        // any more (their responses would come after the one we gave up on), so they time out too.
        let timedOut = first.request.spec.timeoutMs
        shutdown(error: .timeout(milliseconds: timedOut))
    }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: TCPConnection) {
        connected = true
    }

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        var input = UnsafeRawBufferPointer(bytes)
        while !input.isEmpty && !closing {
            let consumed: Int
            do {
                consumed = try parser.feed(input) { event in handle(event) }
            } catch {
                if case .bodyTooLarge(let limit) = error {
                    fail(.responseTooLarge(limit: limit), onlyHead: true)
                } else {
                    fail(.badResponse("\(error)"))
                }
                return
            }
            input = UnsafeRawBufferPointer(rebasing: input[consumed...])
            if responseEnded {
                responseEnded = false
                finishResponse()
            } else if consumed == 0 {
                break
            }
        }
    }

    /// The oldest call's response is complete.
    private func finishResponse() {
        guard !closing, !inflight.isEmpty else { return }
        let r = inflight.removeFirst().request
        receivedForHead = false
        completed += 1
        let mustClose = parser.lastResponseMustClose
        pool.client.complete(r, error: nil)
        if mustClose {
            shutdown(error: .badResponse("backend closed the connection"))
            return
        }
        if retiring && inflight.isEmpty {
            shutdown(error: .cancelled)
            return
        }
        armTimer()
        pool.slotFreed()
    }

    private func handle(_ event: HTTPResponseEvent) -> HTTPParserAction {
        guard let first = inflight.first else {
            fail(.badResponse("response without a request"))
            return .pause
        }
        receivedForHead = true
        let r = first.request
        switch event {
        case .head(let head):
            if head.status < 200 { return .proceed }  // interim (100 Continue): the final one follows
            r.response.status = head.status
            r.response.removeAllHeaders()  // the fields follow as .field events (collectsFields is off)
        case .field(let name, let value):
            if r.response.status >= 200 { r.response.appendHeader(name: name, value: value) }
        case .body(let chunk):
            r.response.body.write(chunk)  // the parser enforces maxResponseBytes (expect(maxBodyBytes:))
        case .end:
            guard r.response.status >= 200 else { return .proceed }
            responseEnded = true
            return .pause
        }
        return .proceed
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        // A close-delimited body ends here.
        do {
            try parser.finish { event in handle(event) }
        } catch {
            if case .noResponse = error {
                peerClosed()  // nothing of the next response arrived: maybe retry it
            } else {
                fail(.badResponse("\(error)"))
            }
            return
        }
        if responseEnded {
            responseEnded = false
            finishResponse()
        }
        peerClosed()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidTimeOut(_ connection: TCPConnection) {
        if inflight.isEmpty { shutdown(error: .cancelled) }
    }

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        tcp = nil
        if closing { return }  // we closed it and already settled every call
        if !connected {
            // Connecting failed: nothing queued here reached the backend. The pool fails it (an IP
            // address) or moves it to the host name's next address.
            closing = true
            timer?.cancel()
            let unsent = inflight
            inflight.removeAll()
            pool.connectFailed(self, unsent: unsent, error: error)
            return
        }
        peerClosed(error: error)
    }

    // MARK: Ending

    /// The backend closed (or reset) the connection: retry the oldest call once if this was a reused
    /// connection and nothing of its response arrived (the server may have closed an idle keep-alive
    /// connection as we sent); fail the rest.
    private func peerClosed(error: IOError? = nil) {
        guard !closing else { return }
        closing = true
        timer?.cancel()
        var pending = inflight
        inflight.removeAll()
        if let first = pending.first, completed > 0, !receivedForHead, first.request.nativeAttempts < 2 {
            pending.removeFirst()
            pool.retry(first.request, target: first.target)
        }
        let why = BackendError.badResponse(error.map { "connection lost: \($0)" } ?? "backend closed the connection before answering")
        for p in pending { pool.client.complete(p.request, error: why) }
        tcp?.abort()
        pool.remove(self)
    }

    /// Fails the oldest call (or every call) and closes: the stream cannot be trusted after an error.
    private func fail(_ error: BackendError, onlyHead: Bool = false) {
        guard !closing else { return }
        closing = true
        timer?.cancel()
        let pending = inflight
        inflight.removeAll()
        for (i, p) in pending.enumerated() {
            let e: BackendError = (i == 0 || !onlyHead) ? error : .badResponse("connection closed after an earlier error")
            pool.client.complete(p.request, error: e)
        }
        tcp?.abort()
        pool.remove(self)
    }

    private func failAll(_ error: BackendError) {
        let pending = inflight
        inflight.removeAll()
        for p in pending { pool.client.complete(p.request, error: error) }
    }

    /// Closes with `error` for everything in flight (timeouts, shutdown).
    func shutdown(error: BackendError) {
        guard !closing else { return }
        closing = true
        timer?.cancel()
        failAll(error)
        tcp?.abort()
        pool.remove(self)
    }
}
