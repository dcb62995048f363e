import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A self-signed P-256 certificate made with the `openssl` command for one test run.
enum TestCertificate {
    static func make(commonName: String = "localhost") -> (cert: String, key: String) {
        let dir = "/tmp/gateway-tls-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        let cert = "\(dir)/cert.pem"
        let key = "\(dir)/key.pem"
        let status = system(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=\(commonName) "
                + "-addext subjectAltName=DNS:\(commonName),IP:127.0.0.1 -keyout \(key) -out \(cert) >/dev/null 2>&1")
        precondition(status == 0, "openssl req failed")
        return (cert, key)
    }
}

/// The client side of the TLS echo test: writes its payload at connect (before the handshake has
/// finished, so the bytes must wait for it), reads the echo back, then closes.
final class TLSEchoClient: ConnectionHandler {
    let payload: [UInt8]
    let done: Counter
    let matched: Counter
    var received: [UInt8] = []
    init(payload: [UInt8], done: Counter, matched: Counter) {
        self.payload = payload
        self.done = done
        self.matched = matched
    }
    func connectionDidConnect(_ connection: TCPConnection) {
        payload.withUnsafeBytes { connection.write(bytes: $0) }
    }
    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        received.append(contentsOf: bytes)
        if received.count >= payload.count {
            if received == payload && connection.tlsALPN == "http/1.1" && connection.isTLS { matched.add(1) }
            connection.close()
        }
    }
    func connectionDidReachEOF(_ connection: TCPConnection) { connection.close() }
    func connectionDidDrain(_ connection: TCPConnection) {}
    func connectionDidTimeOut(_ connection: TCPConnection) {}
    func connectionDidClose(_ connection: TCPConnection, error: IOError?) { done.add(1) }
}

@Suite("TLS as a byte transform on the real engines")
struct TLSEchoTests {
    @Test(arguments: availableEngines())
    func echoesOverTLSBothWays(engine: IOEngineKind) throws {
        let files = TestCertificate.make()
        let server = try TLSServerContext(certificatePath: files.cert, keyPath: files.key)
        let client = try TLSClientContext(verifyPeer: true, caFile: files.cert)
        let closed = Counter()
        let handler = EchoHandlerBox(EchoHandler(closed: closed))
        let socket = try ListeningSocket(address: SocketAddress(host: .v4(127, 0, 0, 1), port: 0), reusePort: false)
        let address = socket.address
        let socketBox = SendableBox(socket)
        let group = try EventLoopGroup(count: 2, engine: engine) { loop in
            if loop.index == 0 { try loop.addListener(socketBox.value, handler: handler.value, tls: server) }
        }
        defer {
            group.stop()
            group.join()
        }
        // Ten clients on the second loop, each echoing 300 KiB: many records each way, partial sends.
        let payload = (0..<(300 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let done = Counter()
        let matched = Counter()
        let clients = SendableBox((0..<10).map { _ in TLSEchoClient(payload: payload, done: done, matched: matched) })
        group.loops[1].execute {
            for c in clients.value { _ = try? group.loops[1].connect(to: address, handler: c, tls: client, serverName: "localhost") }
        }
        for _ in 0..<1000 where done.value < 10 { usleep(10_000) }
        #expect(done.value == 10)
        #expect(matched.value == 10)
        for _ in 0..<300 where closed.value < 10 { usleep(10_000) }
        #expect(closed.value == 10)
    }

    @Test func aBadCertificateOnReloadKeepsTheOldOne() throws {
        let files = TestCertificate.make()
        let server = try TLSServerContext(certificatePath: files.cert, keyPath: files.key)
        #expect(throws: TLSError.self) { try server.reload(certificatePath: "/nonexistent.pem", keyPath: files.key) }
        let other = TestCertificate.make()
        // A key that does not match the certificate is refused, with the reason.
        do {
            try server.reload(certificatePath: files.cert, keyPath: other.key)
            Issue.record("a mismatched key was accepted")
        } catch {
            #expect(error.message.hasPrefix("key"))
        }
        try server.reload(certificatePath: other.cert, keyPath: other.key)
    }

    @Test func startsWithAClearErrorForMissingFiles() {
        do {
            _ = try TLSServerContext(certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem")
            Issue.record("no error")
        } catch {
            #expect(error.message.hasPrefix("certificate"))
        }
    }
}
