@testable import Gateway
@testable import GatewayIO
import CGatewayShims
import GatewayBuffers
import GatewayTestSupport
import GatewayWebSocket
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What an idle WebSocket costs the gateway's heap (issue 13, S4): a real loop on a real engine
/// accepts loopback connections and upgrades them, then the heap in use (`mallinfo2().uordblks`)
/// is compared before and after. The per-object table it prints (instance sizes as malloc sees
/// them) is what docs/benchmarks/s4-memory.md tabulates; the bounds on the two objects keep a
/// regression from slipping in unnoticed. The heap figure is printed, not checked: other suites
/// run in parallel in the same process and allocate meanwhile, so it means something only when
/// this suite runs alone (`swift test --filter PerConnectionMemory`). RSS adds allocator slack;
/// see the S4 bench for that.
@Suite("Per-connection memory", .serialized)
struct PerConnectionMemoryTests {
    static let upgrade = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    static let deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"

    /// A loop with the gateway's per-loop state and a listener on a loopback port.
    final class Fixture {
        let loop: EventLoop
        let context: LoopContext
        let port: UInt16
        private var clients: [Int32] = []

        init(engine: IOEngineKind) throws {
            let json = """
                {"listen": "127.0.0.1:0", "limits": {"maxConnections": 100000},
                 "modules": [{"path": "/echo", "parser": "raw", "default": {"local": "echo"},
                              "compression": {"enabled": true}}]}
                """
            let config = try GatewayConfig.parse(Array(json.utf8), environment: [:])
            loop = try EventLoop(index: 0, engineKind: engine, options: EventLoopOptions())
            let hub = GatewayHub(loopCount: 1)
            var logger = Logger(label: "memory-test")
            logger.logLevel = .notice  // no access-log line per close
            context = try LoopContext(loop: loop, runtime: RuntimeConfig(config), hub: hub, logger: logger)
            hub.register(context)
            let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
            port = socket.address.port
            context.listenerID = try loop.addListener(socket, handler: context)
        }

        /// Opens `n` WebSockets (with `extra` header lines in each upgrade) and runs the loop until
        /// every one got its 101.
        func open(_ n: Int, extra: String = "") {
            var pending: [Int32] = []
            for _ in 0..<n {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                let rc = withUnsafePointer(to: &sin) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                precondition(rc == 0, "connect: \(errno)")
                let request = Array((PerConnectionMemoryTests.upgrade + extra + "\r\n").utf8)
                precondition(request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == request.count)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                pending.append(fd)
                clients.append(fd)
            }
            var buffer = [UInt8](repeating: 0, count: 1024)
            var rounds = 0
            while !pending.isEmpty && rounds < 10_000 {
                loop.runOnce()
                rounds += 1
                pending.removeAll { fd in
                    let r = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    return r > 0
                }
            }
            precondition(pending.isEmpty, "\(pending.count) upgrades unanswered")
            // Let the send completions and any deferred work land.
            for _ in 0..<3 { loop.runOnce() }
        }

        /// Runs the loop for `seconds` with nothing to do but its sweeps (which trim idle connections).
        func idle(seconds: Double) {
            let end = Syscall.monotonicNanos() &+ UInt64(seconds * 1e9)
            while Syscall.monotonicNanos() < end { loop.runOnce() }
        }

        var websockets: [WebSocketConnection] { context.clients.elements.compactMap { $0 as? WebSocketConnection } }

        deinit {
            loop.shutdown()
            for fd in clients { close(fd) }
        }
    }

    static func heapInUse() -> Int { Int(mallinfo2().uordblks) }

    static func mallocSize(_ object: AnyObject) -> Int {
        malloc_usable_size(Unmanaged.passUnretained(object).toOpaque())
    }

    /// Heap bytes per idle WebSocket, averaged over `n` connections opened after a warm-up.
    static func heapPerConnection(engine: IOEngineKind, n: Int, extra: String = "") throws -> (Double, Fixture) {
        let f = try Fixture(engine: engine)
        f.open(8, extra: extra)
        let before = heapInUse()
        f.open(n, extra: extra)
        // As S4 does: the connections sit idle for a while before the heap is read.
        f.idle(seconds: 2.6)
        let after = heapInUse()
        return (Double(after - before) / Double(n), f)
    }

    @Test(arguments: availableEngines())
    func idleWebSocketHeapBytes(engine: IOEngineKind) throws {
        let n = 2000
        let (plain, f) = try Self.heapPerConnection(engine: engine, n: n)
        let ws = try #require(f.websockets.last)
        var rows: [(String, Int)] = [
            ("TCPConnection (malloc size)", Self.mallocSize(ws.tcp)),
            ("WebSocketConnection (malloc size)", Self.mallocSize(ws)),
            ("WebSocketConnectionMachine (inline)", MemoryLayout<WebSocketConnectionMachine>.size),
            ("WebSocketFrameReader (inline)", MemoryLayout<WebSocketFrameReader>.size),
            ("ReplyQueue (inline)", MemoryLayout<ReplyQueue>.size),
            ("OutboundQueue (inline)", MemoryLayout<OutboundQueue>.size),
            ("ByteBuffer (inline)", MemoryLayout<ByteBuffer>.size),
            ("ClientIdentity (inline)", MemoryLayout<ClientIdentity>.size),
            ("ConnectionKey (inline)", MemoryLayout<ConnectionKey>.size),
            ("SocketAddress? (inline)", MemoryLayout<SocketAddress?>.size),
            ("ConnectionDeflate? (inline)", MemoryLayout<ConnectionDeflate?>.size),
        ]
        rows.append(("heap per idle WebSocket (\(engine), n=\(n))", Int(plain)))
        let (deflated, fd) = try Self.heapPerConnection(engine: engine, n: n, extra: Self.deflateOffer)
        rows.append(("heap per idle WebSocket, permessage-deflate (no context takeover)", Int(deflated)))
        #expect(fd.websockets.last?.deflate != nil)
        for (name, bytes) in rows { print("memory: \(name): \(bytes)") }
        // What they are now (malloc sizes: 16-byte steps): a field added to either shows here.
        #expect(Self.mallocSize(ws.tcp) <= 152)
        #expect(Self.mallocSize(ws) <= 424)
        #expect(MemoryLayout<ConnectionDeflate?>.size == 8)
    }
}
