internal import Synchronization
internal import GatewayBuffers
internal import GatewayIO

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
    private var response: [UInt8] = []
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
        guard let c = try? worker.loop.connect(to: url.address, handler: self) else {
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
        response.removeAll(keepingCapacity: true)
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
        response.append(contentsOf: UnsafeRawBufferPointer(bytes))
        switch response.withUnsafeBytes({ HTTPResponseScanner.scan($0) }) {
        case .incomplete:
            break
        case .complete(let status, let keepAlive, _):
            finish(status: status, keepAlive: keepAlive)
        case .invalid:
            busy = false
            worker.stats.publishErrors += 1
            connection.abort()
        }
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        if busy {
            let r = response.withUnsafeBytes { HTTPResponseScanner.scan($0) }
            if case .incomplete(closeDelimited: true) = r, let status = Self.status(response) {
                finish(status: status, keepAlive: false)
            }
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

    private static func status(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 12 else { return nil }
        return Int(String(decoding: bytes[9..<12], as: UTF8.self))
    }
}

@available(*, unavailable)
extension HTTPPublisher: Sendable {}
