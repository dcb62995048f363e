import GatewayBackend
import GatewayBuffers
import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Outcome of one call, copied out on the loop thread.
struct Outcome: Sendable, Equatable {
    var status: Int
    var body: String
    var error: BackendError?
    var headers: [String: String]
}

/// Runs calls on a real loop (each engine) through real libcurl against a real HTTP server.
final class CallRunner: BackendCallHandler, @unchecked Sendable {
    // @unchecked: `client` is used only on the loop thread; results cross threads through a Mutex.
    var client: BackendClient?
    let results = Mutex<[Int: Outcome]>([:])

    func backendCallDidComplete(_ call: BackendCall) {
        guard case .other(let tag) = call.purpose else { return }
        var headers: [String: String] = [:]
        for h in call.response.headers { headers[h.name.lowercased()] = h.value }
        let o = Outcome(status: call.response.status, body: call.response.body.description, error: call.error, headers: headers)
        results.withLock { $0[tag] = o }
    }

    func wait(for count: Int) -> [Int: Outcome] {
        for _ in 0..<1000 {
            let r = results.withLock { $0 }
            if r.count >= count { return r }
            usleep(10_000)
        }
        return results.withLock { $0 }
    }
}

/// Runs `body` on `loop` and returns once it has run there (a loop-side barrier, not a sleep).
func runOnLoopAndWait(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) {
    let done = Mutex(false)
    loop.execute {
        body()
        done.withLock { $0 = true }
    }
    while !done.withLock({ $0 }) { usleep(1000) }
}

/// Every engine with each transport: the gateway's own HTTP/1.1 client and libcurl.
func transports() -> [(IOEngineKind, Bool)] {
    availableEngines().flatMap { [($0, true), ($0, false)] }
}

@Suite("Backend client over libcurl multi-socket")
struct BackendClientTests {
    static let server = TinyHTTPServer()

    func withRunner(_ engine: IOEngineKind, native: Bool, _ body: (EventLoop, CallRunner) throws -> Void) throws {
        BackendClient.globalInit()
        let runner = CallRunner()
        let group = try EventLoopGroup(count: 1, engine: engine) { loop in
            runner.client = try? BackendClient(loop: loop, nativeClient: native)
        }
        defer {
            runOnLoopAndWait(group.loops[0]) { runner.client?.close(); runner.client = nil }
            group.stop()
            group.join()
        }
        try body(group.loops[0], runner)
    }

    static func call(_ runner: CallRunner, on loop: EventLoop, tag: Int, path: String, body: String = "", timeoutMs: Int = 3000, maxBytes: Int = 1 << 20) {
        loop.execute {
            guard let client = runner.client else { return }
            let r = client.makeCall(purpose: .other(tag), handler: runner)
            r.spec.url = server.baseURL + path
            r.spec.timeoutMs = timeoutMs
            r.spec.maxResponseBytes = maxBytes
            r.spec.body.write(string: body)
            r.spec.addHeader("Gateway-Command", "test")
            client.start(r)
        }
    }

    @Test(arguments: transports())
    func echoesBodiesConcurrently(engine: IOEngineKind, native: Bool) throws {
        try withRunner(engine, native: native) { loop, runner in
            for i in 0..<50 { Self.call(runner, on: loop, tag: i, path: "/echo", body: "{\"n\":\(i)}") }
            let r = runner.wait(for: 50)
            #expect(r.count == 50)
            for i in 0..<50 {
                #expect(r[i]?.status == 200)
                #expect(r[i]?.body == "{\"n\":\(i)}")
                #expect(r[i]?.headers["content-type"] == "application/json")
            }
        }
    }

    @Test(arguments: transports())
    func mapsFailures(engine: IOEngineKind, native: Bool) throws {
        try withRunner(engine, native: native) { loop, runner in
            Self.call(runner, on: loop, tag: 1, path: "/status/500")
            Self.call(runner, on: loop, tag: 2, path: "/delay/2000", timeoutMs: 200)
            Self.call(runner, on: loop, tag: 3, path: "/garbage")
            Self.call(runner, on: loop, tag: 4, path: "/reset")
            Self.call(runner, on: loop, tag: 5, path: "/big/5000", maxBytes: 1000)
            Self.call(runner, on: loop, tag: 6, path: "/headers")
            loop.execute {
                // Nothing listens on port 1: connection refused.
                guard let client = runner.client else { return }
                let r = client.makeCall(purpose: .other(7), handler: runner)
                r.spec.url = "http://127.0.0.1:1/x"
                client.start(r)
            }
            let r = runner.wait(for: 7)
            #expect(r[1]?.status == 500 && r[1]?.error == nil)
            #expect(r[2]?.error == .timeout(milliseconds: 200))
            if case .badResponse = r[3]?.error {} else { Issue.record("garbage: \(String(describing: r[3]))") }
            if case .badResponse = r[4]?.error {} else { Issue.record("reset: \(String(describing: r[4]))") }
            #expect(r[5]?.error == .responseTooLarge(limit: 1000))
            #expect(r[6]?.headers["gateway-join"] == "a,b")
            if case .unavailable = r[7]?.error {} else { Issue.record("refused: \(String(describing: r[7]))") }
        }
    }
}
