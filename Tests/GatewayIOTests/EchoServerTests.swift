import CGatewayShims
import GatewayBuffers
import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP echo server on the real engines: proves accept, receive, batched sends (including
/// partial sends of large payloads), graceful close and descriptor release on both engines.
final class Counter: Sendable {
    let atomic = Atomic<Int>(0)
    func add(_ n: Int) { atomic.add(n, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}

final class EchoHandler: ConnectionHandler, AcceptHandler {
    let closed: Counter
    init(closed: Counter) { self.closed = closed }
    func accepted(_ connection: TCPConnection) { connection.handler = self }
    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        connection.write(bytes: UnsafeRawBufferPointer(bytes))
    }
    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidTimeOut(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: IOError?) {
        closed.add(1)
    }
}


/// Blocking client helpers.
enum TestClient {
    static func connect(to address: SocketAddress) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let r = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(r == 0, "connect failed: \(errno)")
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            precondition(n > 0, "send failed: \(errno)")
            off += n
        }
    }

    static func receive(_ fd: Int32, count: Int) -> [UInt8] {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }
}

@Suite("Echo server on the real engines")
struct EchoServerTests {
    @Test(arguments: availableEngines())
    func echoesManyClientsAndLargePayloads(engine: IOEngineKind) throws {
        let closed = Counter()
        let handler = EchoHandlerBox(EchoHandler(closed: closed))
        let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        let address = socket.address
        let socketBox = SendableBox(socket)
        let group = try EventLoopGroup(count: 1, engine: engine) { loop in
            try loop.addListener(socketBox.value, handler: handler.value)
        }
        defer {
            group.stop()
            group.join()
        }
        // Twenty clients, each sends 1 MiB in chunks and reads it back: forces partial sends.
        var clients: [Int32] = []
        for _ in 0..<20 { clients.append(TestClient.connect(to: address)) }
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for fd in clients {
            // Send and receive in turns of 64 KiB so neither side's buffers deadlock.
            var got = [UInt8]()
            var off = 0
            while off < payload.count {
                let chunk = Array(payload[off..<min(off + 65536, payload.count)])
                TestClient.sendAll(fd, chunk)
                got += TestClient.receive(fd, count: chunk.count)
                off += chunk.count
            }
            #expect(got == payload)
        }
        for fd in clients {
            shutdown(fd, Int32(SHUT_WR))
            // The server closes after our EOF: we read EOF too.
            var b: UInt8 = 0
            #expect(recv(fd, &b, 1, 0) == 0)
            close(fd)
        }
        // Every connection is released.
        for _ in 0..<200 where closed.value < clients.count { usleep(10_000) }
        #expect(closed.value == clients.count)
    }

    @Test(arguments: availableEngines())
    func timersAndCrossThreadTasksRun(engine: IOEngineKind) throws {
        let fired = Counter()
        let group = try EventLoopGroup(count: 2, engine: engine) { loop in
            let timer = loop.makeTimer { fired.add(1) }
            timer.schedule(afterNanos: 20_000_000)
            // Keep the timer alive for the loop's lifetime.
            TimerKeeper.keep(timer)
        }
        defer {
            group.stop()
            group.join()
        }
        for loop in group.loops { loop.execute { fired.add(10) } }
        for _ in 0..<200 where fired.value < 22 { usleep(5_000) }
        #expect(fired.value == 22)
    }
}


typealias EchoHandlerBox = SendableBox<EchoHandler>

enum TimerKeeper {
    nonisolated(unsafe) static var timers: [LoopTimer] = []
    static let lock = Mutex<Void>(())
    static func keep(_ t: LoopTimer) { lock.withLock { _ in timers.append(t) } }
}
