internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import Logging

/// Delivers lifecycle hooks (disconnect) to backends, retrying with exponential backoff until the
/// backend answers 2xx: 0.1 s, 0.2 s, 0.4 s … capped at 30 s, for up to `maxAttempts` attempts
/// (about 5 minutes of retrying). A graceful shutdown waits for pending hooks, bounded by
/// `drainTimeoutSeconds`. Delivery is at least once while the process lives; hooks are not persisted.
final class HookDispatcher: BackendCallHandler {
    private unowned(unsafe) let loop: EventLoop
    private let backend: BackendClient
    private let logger: Logger
    /// Jobs waiting for their next attempt.
    private var waiting: [Job] = []
    /// Jobs whose attempt is in flight, by the id their call's purpose carries.
    private var inFlight: [UInt64: Job] = [:]
    private var nextJobID: UInt64 = 0
    private var timer: LoopTimer?
    private var traceRNG = TraceIDGenerator()
    /// Hooks answered 2xx.
    private(set) var delivered = 0
    /// Attempts that failed (each retried or, at the end, dropped).
    private(set) var failedAttempts = 0
    /// Hooks given up on (attempts exhausted, or abandoned at shutdown).
    private(set) var dropped = 0
    /// Attempts before a hook is dropped (logged as an error).
    static let maxAttempts = 15
    static let initialBackoffNanos: UInt64 = 100_000_000
    static let maxBackoffNanos: UInt64 = 30_000_000_000

    /// One hook: where it goes, what it says, and how its delivery is going.
    final class Job {
        let target: BackendTarget
        let body: [UInt8]
        let what: String
        let headers: [(String, String)]
        let timeoutMs: Int
        var attempt = 0
        var due: UInt64 = 0

        init(target: BackendTarget, body: [UInt8], what: String, headers: [(String, String)], timeoutMs: Int) {
            self.target = target
            self.body = body
            self.what = what
            self.headers = headers
            self.timeoutMs = timeoutMs
        }
    }

    init(loop: EventLoop, backend: BackendClient, logger: Logger) {
        self.loop = loop
        self.backend = backend
        self.logger = logger
    }

    /// Whether nothing is waiting or in flight.
    var isIdle: Bool { waiting.isEmpty && inFlight.isEmpty }
    /// Hooks not yet delivered.
    var pendingCount: Int { waiting.count + inFlight.count }

    /// Sends a JSON body to `target` (POST), retrying until delivered. `headers` go with every attempt.
    func post(target: BackendTarget, body: [UInt8], what: String, headers: [(String, String)] = [], timeoutMs: Int) {
        send(Job(target: target, body: body, what: what, headers: headers, timeoutMs: timeoutMs))
    }

    private func send(_ job: Job) {
        job.attempt += 1
        nextJobID &+= 1
        let id = nextJobID
        inFlight[id] = job
        let call = backend.makeCall(purpose: .hook(job: id), handler: self)
        call.spec.fillHook(target: job.target, body: job.body, headers: job.headers, timeoutMs: job.timeoutMs, traceRNG: &traceRNG)
        backend.start(call)
    }

    func backendCallDidComplete(_ call: BackendCall) {
        guard case .hook(let id) = call.purpose, let job = inFlight.removeValue(forKey: id) else { return }
        if call.error == nil && (200..<300).contains(call.response.status) {
            delivered += 1
            return
        }
        failedAttempts += 1
        let why = call.error.map { "\($0)" } ?? "status \(call.response.status)"
        if call.error == .cancelled {
            dropped += 1
            logger.error("\(job.what) hook to \(job.target) abandoned at shutdown after \(job.attempt) attempt(s): \(why)")
            return
        }
        if job.attempt >= Self.maxAttempts {
            dropped += 1
            logger.error("\(job.what) hook to \(job.target) dropped after \(job.attempt) attempts: \(why)")
            return
        }
        logger.warning("\(job.what) hook to \(job.target) failed (\(why)); retry \(job.attempt + 1)/\(Self.maxAttempts)")
        schedule(job)
    }

    private func schedule(_ job: Job) {
        let shift = UInt64(min(max(job.attempt - 1, 0), 20))
        let backoff = min(Self.initialBackoffNanos << shift, Self.maxBackoffNanos)
        job.due = loop.now &+ backoff
        waiting.append(job)
        rearm()
    }

    private func rearm() {
        guard let next = waiting.map(\.due).min() else {
            timer?.cancel()
            return
        }
        if timer == nil { timer = loop.makeTimer { [unowned(unsafe) self] in self.retryDue() } }
        timer?.schedule(at: next)
    }

    private func retryDue() {
        let now = loop.now
        var due: [Job] = []
        waiting.removeAll { job in
            if job.due <= now { due.append(job); return true }
            return false
        }
        for j in due { send(j) }
        rearm()
    }
}
