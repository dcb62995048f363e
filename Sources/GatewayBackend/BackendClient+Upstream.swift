internal import GatewayIO

/// Calls to upstream groups (DESIGN §10): the endpoint of each try, the outcome of each try recorded
/// on its endpoint (breaker, ejection, in-flight, latency), and retries where they are safe. The
/// handler sees one outcome, that of the last try.
///
/// A call is retried only when the request never reached a backend (`connect-failure`: connection
/// refused or failed before the request was written, `BackendError.unavailable`), when its status
/// is listed in `retry.on`, or when it timed out, `timeout` is listed and the route is idempotent;
/// never after any other error (a reset mid-call may have run the command). Each retry goes to an
/// endpoint not tried yet where one admits it, after a jittered backoff, within what is left of the
/// route's timeout, and only while the retry budget allows.
extension BackendClient {
    /// What a try's end leads to.
    enum TryVerdict {
        /// Another try is scheduled: the call stays in flight.
        case retrying
        /// The call is over, with this error (or the response).
        case done(BackendError?)
    }

    /// Puts the config's upstream groups in force on this loop, in the config's order. A group
    /// object kept from the previous config (same settings, see the gateway's reload) keeps its
    /// breakers, ejections and figures; calls in flight finish on the state they started with.
    public func setUpstreams(_ groups: [UpstreamGroup]) {
        var old: [ObjectIdentifier: Upstream] = [:]
        for u in upstreams { old[ObjectIdentifier(u.group)] = u }
        upstreams = groups.map { old[ObjectIdentifier($0)] ?? Upstream(group: $0) }
        for u in upstreams where u.onEvent == nil {
            u.onEvent = { [unowned(unsafe) self] event in self.onUpstreamEvent?(event) }
        }
    }

    /// This loop's view of every upstream, for the admin API.
    public func upstreamSnapshots() -> [UpstreamSnapshot] {
        let now = loop.now
        return upstreams.map { $0.snapshot(now: now) }
    }

    /// The upstream a target names: by index, checked by name (a connection still routing by an
    /// older config finds it by name, or not at all).
    func upstream(for target: UpstreamTarget) -> Upstream? {
        if target.index >= 0, target.index < upstreams.count, upstreams[target.index].name == target.name {
            return upstreams[target.index]
        }
        return upstreams.first { $0.name == target.name }
    }

    /// The first try of a call made with `spec.upstream` (`start` counted it in flight already).
    func startUpstream(_ call: BackendCall, _ target: UpstreamTarget) {
        guard let u = upstream(for: target) else {
            finishEarly(call, error: .unavailable("no upstream named \(target.name) in the running configuration"))
            return
        }
        let now = loop.now
        call.attempt.upstream = u
        call.attempt.firstStartedAt = now
        call.attempt.timeoutMs = call.spec.timeoutMs
        call.attempt.deadline = now &+ UInt64(max(1, call.spec.timeoutMs)) * 1_000_000
        u.budget?.recordCall(now: now)
        switch u.choose(now: now, avoid: 0) {
        case .none(let wait):
            u.fastFails += 1
            finishEarly(call, error: .upstreamUnavailable(upstream: u.name, retryAfterMs: Self.roundUpMs(wait)))
        case .endpoint(let i, let probe, let epoch):
            tryEndpoint(call, u, i, probe: probe, epoch: epoch, target: target, now: now)
        }
    }

    /// Starts a try on endpoint `i`, with what is left of the call's timeout (at most
    /// `retry.perTryTimeoutMs`).
    private func tryEndpoint(_ call: BackendCall, _ u: Upstream, _ i: Int, probe: Bool, epoch: UInt32, target: UpstreamTarget, now: UInt64) {
        call.attempt.endpoint = i
        call.attempt.probe = probe
        call.attempt.epoch = epoch
        call.attempt.tries += 1
        call.attempt.tried |= 1 << UInt64(i)
        call.spec.url = u.url(endpoint: i, target: target)
        let left = Int((call.attempt.deadline > now ? call.attempt.deadline - now : 0) / 1_000_000)
        call.spec.timeoutMs = max(1, min(left, u.retry?.perTryTimeoutMs ?? Int.max))
        call.startedAt = now
        launch(call)
    }

    /// A try ended (or the call ended without one): records it on its endpoint and decides whether
    /// to try again.
    func upstreamTryEnded(_ call: BackendCall, error: BackendError?) -> TryVerdict {
        guard let u = call.attempt.upstream, call.attempt.endpoint >= 0 else { return .done(finalError(call, error)) }
        let now = loop.now
        let i = call.attempt.endpoint
        call.attempt.endpoint = -1
        let status = error == nil ? call.response.status : 0
        var failed = false, cancelled = false
        switch error {
        case nil: failed = status >= 500
        case .cancelled?, .upstreamUnavailable?: cancelled = true
        case .responseTooLarge?: failed = false  // the endpoint answered; the reply was too big
        case .unavailable?, .timeout?, .badResponse?: failed = true
        }
        u.finish(endpoint: i, failed: failed, cancelled: cancelled, probe: call.attempt.probe, epoch: call.attempt.epoch,
                 latencyNanos: now &- call.startedAt, now: now)
        guard !cancelled, !closed, let retry = u.retry, call.attempt.tries < retry.attempts,
            Self.mayRetry(error: error, status: status, retry, idempotent: call.spec.upstream?.idempotent ?? false)
        else { return .done(finalError(call, error)) }
        // A retry needs a tenth of the route's timeout (at least 1 ms) left after its backoff, or it
        // could only time out and would hide the real error.
        let minimum = max(1_000_000, UInt64(call.attempt.timeoutMs) * 100_000)
        guard let at = u.backoff?.retryTime(retry: call.attempt.tries, random: u.random(), now: now,
                                            deadline: call.attempt.deadline, minimumAttemptNanos: minimum)
        else { return .done(finalError(call, error)) }
        guard u.budget?.tryRetry(now: now) != false else {
            u.retriesDenied += 1
            return .done(finalError(call, error))
        }
        call.error = error
        call.attempt.retryAt = at
        retryQueue.append(call)
        armRetryTimer()
        return .retrying
    }

    /// Whether a try's outcome may be retried under `retry` (see the type's comment).
    static func mayRetry(error: BackendError?, status: Int, _ retry: RetrySettings, idempotent: Bool) -> Bool {
        switch error {
        case nil: retry.retries(status: status)
        case .unavailable?: retry.on.contains(.connectFailure)
        case .timeout?: idempotent && retry.on.contains(.timeout)
        default: false
        }
    }

    /// The outcome the handler sees: the last try's, with the call's own start time (latency
    /// metrics cover every try) and, in a timeout error, how long the call took in all.
    private func finalError(_ call: BackendCall, _ error: BackendError?) -> BackendError? {
        guard call.attempt.tries > 0 else { return error }
        call.startedAt = call.attempt.firstStartedAt
        call.spec.timeoutMs = call.attempt.timeoutMs
        if case .timeout? = error, call.attempt.tries > 1 {
            return .timeout(milliseconds: Int((loop.now &- call.attempt.firstStartedAt) / 1_000_000))
        }
        return error
    }

    private func armRetryTimer() {
        var next = UInt64.max
        for c in retryQueue { next = min(next, c.attempt.retryAt) }
        guard next != .max else {
            retryTimer?.cancel()
            return
        }
        if retryTimer == nil { retryTimer = loop.makeTimer { [unowned(unsafe) self] in self.runRetries() } }
        retryTimer?.schedule(at: next)
    }

    private func runRetries() {
        let now = loop.now
        var due: [BackendCall] = []
        retryQueue.removeAll { c in
            guard c.attempt.retryAt <= now else { return false }
            due.append(c)
            return true
        }
        armRetryTimer()
        for call in due { retry(call, now: now) }
    }

    /// Starts a scheduled retry, on an endpoint not tried yet where one admits it. When none admits
    /// a call any more, the last try's outcome stands.
    private func retry(_ call: BackendCall, now: UInt64) {
        guard let u = call.attempt.upstream, let target = call.spec.upstream, !closed,
            case .endpoint(let i, let probe, let epoch) = u.choose(now: now, avoid: call.attempt.tried)
        else {
            deliver(call, error: call.error)
            return
        }
        u.retries += 1
        call.response.reset()
        call.error = nil
        call.nativeAttempts = 0
        tryEndpoint(call, u, i, probe: probe, epoch: epoch, target: target, now: now)
    }

    /// Ends every scheduled retry with `.cancelled` (shutdown).
    func cancelRetries() {
        retryTimer?.cancel()
        let pending = retryQueue
        retryQueue.removeAll()
        for call in pending { deliver(call, error: .cancelled) }
    }

    /// Nanoseconds as whole milliseconds, rounded up (at least 1: "retry after 0 ms" invites a
    /// tight loop).
    static func roundUpMs(_ nanos: UInt64) -> Int {
        max(1, Int((nanos + 999_999) / 1_000_000))
    }
}
