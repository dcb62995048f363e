internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import Logging

/// Delivers lifecycle hooks (disconnect) to backends, retrying with exponential backoff until the
/// backend answers 2xx: 0.1 s, 0.2 s, 0.4 s … capped at 30 s, for up to `maxAttempts` attempts
/// (about 5 minutes of retrying). A graceful shutdown waits for pending hooks, bounded by
/// `drainTimeoutSeconds`. Delivery is at least once while the process lives; hooks are not persisted.
final class HookDispatcher: BackendResponseHandler {
    unowned let context: LoopContext
    private var waiting: [Job] = []
    private var inFlight = 0
    private var timer: LoopTimer!
    /// Attempts before a hook is dropped (logged as an error).
    static let maxAttempts = 15
    static let initialBackoffNanos: UInt64 = 100_000_000
    static let maxBackoffNanos: UInt64 = 30_000_000_000

    final class Job {
        let url: String
        let body: [UInt8]
        let what: String
        var attempt = 0
        var due: UInt64 = 0
        var headers: [(String, String)] = []
        init(url: String, body: [UInt8], what: String) {
            self.url = url
            self.body = body
            self.what = what
        }
    }

    init(context: LoopContext) {
        self.context = context
        timer = context.loop.makeTimer { [unowned self] in self.retryDue() }
    }

    /// Whether nothing is waiting or in flight.
    var isIdle: Bool { waiting.isEmpty && inFlight == 0 }
    /// Hooks not yet delivered.
    var pendingCount: Int { waiting.count + inFlight }

    /// Sends a JSON body to `url` (POST), retrying until delivered. `headers` go with every attempt.
    func post(url: String, body: [UInt8], what: String, headers: [(String, String)] = []) {
        let job = Job(url: url, body: body, what: what)
        job.headers = headers
        send(job)
    }

    private func send(_ job: Job) {
        guard let r = context.backend.makeRequest() else {
            schedule(job)
            return
        }
        job.attempt += 1
        r.url = job.url
        r.body.write(contentsOf: job.body)
        for (name, value) in job.headers { r.addHeader(name, value) }
        context.addTraceparent(to: r)
        r.timeoutMs = context.limits.backendTimeoutMs
        r.context = job
        r.handler = self
        inFlight += 1
        context.backend.start(r)
    }

    func backendRequestDidComplete(_ request: BackendRequest) {
        inFlight -= 1
        guard let job = request.context as? Job else { return }
        if request.error == nil && (200..<300).contains(request.response.status) {
            context.metrics.hooksDelivered += 1
            return
        }
        context.metrics.hookFailures += 1
        let why = request.error.map { "\($0)" } ?? "status \(request.response.status)"
        if request.error == .cancelled {
            context.metrics.hooksDropped += 1
            context.logger.error("\(job.what) hook to \(job.url) abandoned at shutdown after \(job.attempt) attempt(s): \(why)")
            return
        }
        if job.attempt >= Self.maxAttempts {
            context.metrics.hooksDropped += 1
            context.logger.error("\(job.what) hook to \(job.url) dropped after \(job.attempt) attempts: \(why)")
            return
        }
        context.logger.warning("\(job.what) hook to \(job.url) failed (\(why)); retry \(job.attempt + 1)/\(Self.maxAttempts)")
        schedule(job)
    }

    private func schedule(_ job: Job) {
        let shift = UInt64(min(max(job.attempt - 1, 0), 20))
        let backoff = min(Self.initialBackoffNanos << shift, Self.maxBackoffNanos)
        job.due = context.loop.now &+ backoff
        waiting.append(job)
        rearm()
    }

    private func rearm() {
        guard let next = waiting.map(\.due).min() else {
            timer.cancel()
            return
        }
        timer.schedule(at: next)
    }

    private func retryDue() {
        let now = context.loop.now
        var due: [Job] = []
        waiting.removeAll { job in
            if job.due <= now { due.append(job); return true }
            return false
        }
        for j in due { send(j) }
        rearm()
    }
}
