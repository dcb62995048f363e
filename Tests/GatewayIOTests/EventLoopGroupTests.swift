import CGatewayShims
import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct SetUpFailed: Error, Equatable {}

@Suite("Event loop group start-up")
struct EventLoopGroupTests {
    /// One loop whose `setUp` fails stops the whole group: no loop runs, and what the loops that
    /// did set up registered (a listener) is closed.
    @Test(arguments: availableEngines())
    func setUpFailureOnOneLoopFailsTheGroup(engine: IOEngineKind) throws {
        let listening = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        let address = listening.address
        let box = SendableBox(listening)
        let ran = Atomic<Int>(0)
        let handler = EchoHandlerBox(EchoHandler(closed: Counter()))
        do {
            let group = try EventLoopGroup(count: 3, engine: engine) { loop throws(SetUpFailed) in
                if loop.index == 0 {
                    do { try loop.addListener(box.value, handler: handler.value) } catch { throw SetUpFailed() }
                    loop.execute { ran.add(1, ordering: .relaxed) }
                }
                if loop.index == 2 { throw SetUpFailed() }
            }
            group.stop()
            group.join()
            Issue.record("the group started although loop 2's setUp threw")
        } catch {
            guard case .setUp(let loop, let underlying) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(loop == 2)
            #expect(underlying is SetUpFailed)
            #expect("\(error)".hasPrefix("loop 2 set-up:"))
        }
        #expect(ran.load(ordering: .relaxed) == 0)
        // Loop 0's listener was closed with it: nothing accepts on the address any more.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let r = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(r != 0 && errno == ECONNREFUSED)
    }
}
