internal import Synchronization
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayHTTP1

/// The fanout publisher over HTTP: one keep-alive connection to `--pub-http`, one `POST` at a time
/// (a publish that falls due while a request is outstanding waits for its response, then the
/// publisher catches up, as wsload's). Reconnects when the server closes.
final class HTTPPublisher: ConnectionHandler {
    unowned let worker: BenchWorker
    let url: BenchURL
    let body: Template
    /// Everything before `Content-Length`'s value.
    private let head: [UInt8]
    private(set) var connection: TCPConnection?
    /// A request is outstanding.
    private(set) var busy = false
    /// Reads the responses of this connection (a new one per connection).
    private var parser = HTTPResponseParser()
    /// The status of the final response being read.
    private var status = 0
    private var stopped = false

    init(worker: BenchWorker, url: BenchURL, body: Template, headers: [String]) {
        self.worker = worker
        self.url = url
        self.body = body
        var h = "POST \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\n"
        if !headers.contains(where: { $0.lowercased().hasPrefix("content-type:") }) {
            h += "Content-Type: application/json\r\n"
        }
        for header in headers { h += header + "\r\n" }
        h += "Content-Length: "
        head = Array(h.utf8)
    }

    /// Opens the connection if there is none.
    func connect() {
        guard connection == nil, !stopped else { return }
        parser = HTTPResponseParser()
        guard let c = try? worker.loop.connect(to: url.address, handler: self, tls: url.tls, serverName: url.serverName) else {
            markFailedIfFirst()
            return
        }
        connection = c
        worker.socketOpened()
    }

    /// Sends one publish carrying the TS marker `ts`.
    func send(ts: UInt64) {
        connect()
        guard let c = connection else {
            worker.stats.publishErrors += 1
            return
        }
        let n = body.render(into: worker.scratch, seq: 0, conn: 0, ts: ts)
        let payload = UnsafeRawBufferPointer(start: worker.scratch, count: n)
        c.write { b in
            head.withUnsafeBytes { b.write($0) }
            b.write(decimal: n)
            b.write(string: "\r\n\r\n")
            b.write(payload)
        }
        parser.expect(headRequest: false)
        busy = true
    }

    /// Stops publishing and closes the connection.
    func close() {
        stopped = true
        connection?.close(lingerNanos: 200_000_000)
    }

    private func markFailedIfFirst() {
        _ = worker.control.publisherState.compareExchange(expected: 0, desired: 2, ordering: .relaxed)
    }

    private func finish(status: Int, keepAlive: Bool) {
        busy = false
        if !(200...299).contains(status) {
            worker.stats.publishErrors += 1
            if worker.stats.firstError == nil { worker.stats.firstError = "publish answered with HTTP status \(status)" }
        }
        if !keepAlive {
            connection?.close()
            connection = nil  // the next publish reconnects
        }
        worker.publishDue()
    }

    // MARK: ConnectionHandler

    func connectionDidConnect(_ connection: TCPConnection) {
        _ = worker.control.publisherState.compareExchange(expected: 0, desired: 1, ordering: .relaxed)
    }

    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        guard busy else { return }
        var ended = false
        do throws(HTTPResponseParseError) {
            _ = try parser.feed(UnsafeRawBufferPointer(bytes)) { event in self.take(event, ended: &ended) }
        } catch {
            busy = false
            worker.stats.publishErrors += 1
            if worker.stats.firstError == nil { worker.stats.firstError = "publish answered with bad HTTP: \(error)" }
            connection.abort()
            return
        }
        // Finished outside the parser's callback: finishing may send the next publish, which
        // announces it to the parser.
        if ended { finish(status: status, keepAlive: !parser.lastResponseMustClose) }
    }

    /// Notes the status of the final response, and pauses at its end.
    private func take(_ event: HTTPResponseEvent, ended: inout Bool) -> HTTPParserAction {
        switch event {
        case .head(let head):
            status = head.status
        case .end where status >= 200:
            ended = true
            return .pause
        default:
            break
        }
        return .proceed
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        // A close-delimited body ends here; any other cut-short response is counted when the
        // connection closes with the publish still outstanding.
        if busy {
            var ended = false
            try? parser.finish { event in self.take(event, ended: &ended) }
            if ended { finish(status: status, keepAlive: false) }
        }
        connection.close()
        if self.connection === connection { self.connection = nil }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidTimeOut(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        if self.connection === connection { self.connection = nil }
        worker.socketClosed()
        if error != nil { markFailedIfFirst() }
        if busy {
            busy = false
            worker.stats.publishErrors += 1
            if worker.stats.firstError == nil { worker.stats.firstError = "publish failed: \(error.map { "\($0)" } ?? "connection closed")" }
            worker.publishDue()
        }
    }
}

@available(*, unavailable)
extension HTTPPublisher: Sendable {}
