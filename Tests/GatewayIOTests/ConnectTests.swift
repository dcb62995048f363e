import GatewayBuffers
import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An outgoing connection that sends a greeting and collects what comes back.
final class Dialer: ConnectionHandler, @unchecked Sendable {
    // @unchecked: mutated only on the loop thread; the test reads `result` through the Mutex.
    let result = Mutex<(connected: Bool, received: [UInt8], error: String?, closed: Bool)>((false, [], nil, false))
    let greeting: [UInt8]
    init(greeting: [UInt8]) { self.greeting = greeting }

    func connectionDidConnect(_ connection: TCPConnection) {
        result.withLock { $0.connected = true }
        greeting.withUnsafeBytes { connection.write(bytes: $0) }
    }
    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        result.withLock { $0.received += Array(bytes) }
        if result.withLock({ $0.received.count }) >= greeting.count { connection.close() }
    }
    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidTimeOut(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        result.withLock { $0.closed = true; $0.error = error.map { "\($0)" } }
    }

    func waitClosed() {
        for _ in 0..<500 where !result.withLock({ $0.closed }) { usleep(10_000) }
    }
}

@Suite("Outgoing connections")
struct ConnectTests {
    @Test(arguments: availableEngines())
    func connectsWritesAndReadsBack(engine: IOEngineKind) throws {
        let closed = Counter()
        let handler = EchoHandlerBox(EchoHandler(closed: closed))
        let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        let address = socket.address
        let box = SendableBox(socket)
        let group = try EventLoopGroup(count: 1, engine: engine) { loop in try loop.addListener(box.value, handler: handler.value) }
        defer { group.stop(); group.join() }
        let payload = Array(repeating: UInt8(ascii: "z"), count: 300_000)
        let dialer = Dialer(greeting: payload)
        group.loops[0].execute { _ = try? group.loops[0].connect(to: address, handler: dialer) }
        dialer.waitClosed()
        let r = dialer.result.withLock { $0 }
        #expect(r.connected)
        #expect(r.received == payload)
        #expect(r.error == nil)
    }

    @Test(arguments: availableEngines())
    func refusedConnectionReportsTheError(engine: IOEngineKind) throws {
        let group = try EventLoopGroup(count: 1, engine: engine) { _ in }
        defer { group.stop(); group.join() }
        let dialer = Dialer(greeting: [1])
        // Port 1 on loopback: nothing listens there.
        group.loops[0].execute { _ = try? group.loops[0].connect(to: SocketAddress(host: .v4(127, 0, 0, 1), port: 1), handler: dialer) }
        dialer.waitClosed()
        let r = dialer.result.withLock { $0 }
        #expect(!r.connected)
        #expect(r.error?.contains("ECONNREFUSED") == true)
    }
}
