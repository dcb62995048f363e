import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The io_uring engine's rare paths, on real sockets: a submission queue that fills constantly and
/// a provided-buffer ring that runs dry. Skipped where io_uring is unavailable.
@Suite("io_uring engine under pressure", .enabled(if: uringAvailable))
struct URingEngineTests {
    /// Starts one io_uring loop with `options` running an echo server; returns it and its address.
    private func echoServer(_ options: EventLoopOptions, closed: Counter) throws -> (EventLoopGroup, SocketAddress) {
        let handler = EchoHandlerBox(EchoHandler(closed: closed))
        let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        let address = socket.address
        let box = SendableBox(socket)
        let group = try EventLoopGroup(count: 1, engine: .ioUring, options: options) { loop in
            try loop.addListener(box.value, handler: handler.value)
        }
        return (group, address)
    }

    /// Echoes `size` bytes on each of `clients` connections opened at once, in rounds of 16 KiB.
    private func echo(to address: SocketAddress, clients: Int, size: Int) -> Bool {
        let fds = (0..<clients).map { _ in TestClient.connect(to: address) }
        defer { for fd in fds { close(fd) } }
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var ok = true
        var off = 0
        while off < size {
            let chunk = Array(payload[off..<min(off + 16384, size)])
            for fd in fds { TestClient.sendAll(fd, chunk) }
            for fd in fds where TestClient.receive(fd, count: chunk.count) != chunk { ok = false }
            off += chunk.count
        }
        return ok
    }

    @Test func twoEntryRingParksAndStillEchoesEverything() throws {
        var options = EventLoopOptions()
        options.ringEntries = 2
        let closed = Counter()
        let (group, address) = try echoServer(options, closed: closed)
        defer { group.stop(); group.join() }
        // Sixteen connections accepted and fed together: every tick wants more than two entries
        // (receives, sends, re-arms), so most submissions park and go in on later waits.
        #expect(echo(to: address, clients: 16, size: 256 * 1024))
        for _ in 0..<300 where closed.value < 16 { usleep(10_000) }
        #expect(closed.value == 16)
        let parked = Mutex<Int>(-1)
        let loop = group.loops[0]
        loop.execute { let n = loop.parkedSubmissions; parked.withLock { $0 = n } }
        for _ in 0..<200 where parked.withLock({ $0 }) < 0 { usleep(5_000) }
        #expect(parked.withLock { $0 } > 0)
    }

    @Test func receiveIsReArmedAfterBufferExhaustion() throws {
        var options = EventLoopOptions()
        options.receiveBufferCount = 2
        options.receiveBufferSize = 256
        let closed = Counter()
        let (group, address) = try echoServer(options, closed: closed)
        defer { group.stop(); group.join() }
        // Two 256-byte buffers for eight busy connections: receives end with ENOBUFS all the time
        // and must be re-armed, or a connection stalls and this times out.
        #expect(echo(to: address, clients: 8, size: 128 * 1024))
        let rearms = Mutex<Int>(-1)
        let loop = group.loops[0]
        loop.execute { let n = loop.receiveRearms; rearms.withLock { $0 = n } }
        for _ in 0..<200 where rearms.withLock({ $0 }) < 0 { usleep(5_000) }
        #expect(rearms.withLock { $0 } > 0)
    }
}
