@testable import GatewayBackend
import GatewayIO
import GatewayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Records what its calls' outcomes were and whether one arrived while `start` was running.
final class CompletionRecorder: BackendCallHandler, @unchecked Sendable {
    // @unchecked: used on the loop thread only; results cross threads through the Mutex.
    let log = Mutex<[String]>([])
    var insideStart = false

    func backendCallDidComplete(_ call: BackendCall) {
        let entry = "\(call.purpose) \(call.error.map { "\($0)" } ?? "status \(call.response.status)")\(insideStart ? " (inside start!)" : "")"
        log.withLock { $0.append(entry) }
    }
}

@Suite("Backend client: completion is always asynchronous")
struct BackendClientCompletionTests {
    /// Runs `body` on a fresh loop with a client over `transport`, then returns the recorder's log
    /// once `expected` outcomes arrived (or after 5 s).
    func run(_ engine: IOEngineKind, _ transport: FakeTransport, expected: Int,
             _ body: @escaping (BackendClient, CompletionRecorder) -> Void) throws -> [String] {
        let recorder = CompletionRecorder()
        let box = SendableBox((transport, body, ClientHolder()))
        let group = try EventLoopGroup(count: 1, engine: engine) { loop in
            let client = BackendClient(loop: loop, transport: box.value.0)
            box.value.2.client = client  // the client lives until the loop stops
            box.value.1(client, recorder)
        }
        defer {
            group.stop()
            group.join()
        }
        for _ in 0..<500 {
            if recorder.log.withLock({ $0.count }) >= expected { break }
            usleep(10_000)
        }
        return recorder.log.withLock { $0 }
    }

    @Test(arguments: availableEngines())
    func aCallThatEndsInsideStartIsReportedAfterStartReturns(engine: IOEngineKind) throws {
        let transport = FakeTransport()
        transport.finishInsideStart = .some(.unavailable("refused"))
        let log = try run(engine, transport, expected: 1) { client, recorder in
            let call = client.makeCall(purpose: .other(1), handler: recorder)
            recorder.insideStart = true
            client.start(call)
            recorder.insideStart = false
            #expect(recorder.log.withLock { $0.isEmpty }, "the handler ran from inside start")
            #expect(client.inFlight == 1, "an early end still counts as in flight until it is reported")
        }
        #expect(log == ["other(1) backend unavailable: refused"])
    }

    @Test(arguments: availableEngines())
    func aCallStartedAfterCloseEndsCancelledLater(engine: IOEngineKind) throws {
        let transport = FakeTransport()
        let log = try run(engine, transport, expected: 1) { client, recorder in
            client.close()
            #expect(transport.closed)
            let call = client.makeCall(purpose: .other(2), handler: recorder)
            recorder.insideStart = true
            client.start(call)
            recorder.insideStart = false
            #expect(transport.started.isEmpty, "a closed client hands nothing to its transport")
        }
        #expect(log == ["other(2) backend call cancelled"])
    }

    @Test(arguments: availableEngines())
    func answersArriveInTheOrderTheTransportReportsThemAndCallsAreReused(engine: IOEngineKind) throws {
        let transport = FakeTransport()
        let log = try run(engine, transport, expected: 3) { client, recorder in
            var calls: [ObjectIdentifier] = []
            for i in 0..<3 {
                let call = client.makeCall(purpose: .other(i), handler: recorder)
                calls.append(ObjectIdentifier(call))
                call.spec.url = "http://backend/\(i)"
                client.start(call)
            }
            #expect(client.inFlight == 3)
            transport.answerOldest(status: 200)
            transport.answerOldest(status: 500)
            transport.answerOldest(status: 204)
            #expect(client.inFlight == 0)
            let again = client.makeCall(purpose: .other(9), handler: recorder)
            #expect(calls.contains(ObjectIdentifier(again)), "a finished call goes back to the pool")
            #expect(again.spec.url.isEmpty && again.response.status == 0, "and comes out reset")
        }
        #expect(log == ["other(0) status 200", "other(1) status 500", "other(2) status 204"])
    }
}

/// Keeps a loop's client alive for the test.
final class ClientHolder {
    var client: BackendClient?
}

