/// A circuit breaker for one endpoint on one loop (sans-IO: the caller passes the time and carries
/// out what it says).
///
/// Closed: calls go through and their outcomes fill a rolling window; once the window holds at least
/// `minRequests` calls and the failed share reaches `failureRatio`, it opens. Open: calls are
/// refused at once for `openMs`. Then half-open: up to `halfOpenProbes` calls at a time go through
/// as probes; a probe that succeeds closes the breaker (with a fresh window), one that fails opens it
/// again for another `openMs`. Outcomes of calls admitted before a state change are ignored: they
/// describe the endpoint as it was.
public struct CircuitBreaker {
    /// Where the breaker is.
    public enum State: String, Sendable, CaseIterable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// What `admit` allows.
    public enum Admission: Equatable {
        /// A normal call (closed).
        case call
        /// A half-open probe: report its outcome with `probe: true`.
        case probe
        /// Refused: the breaker is open, or half-open with every probe slot taken.
        case refused
    }

    /// A change of state, for logs and metrics.
    public struct Transition: Equatable, CustomStringConvertible {
        public let from: State
        public let to: State
        /// Why, in words (`failure ratio 0.55 over 20 calls`, `probe succeeded`…).
        public let reason: String
        public var description: String { "\(from.rawValue) -> \(to.rawValue) (\(reason))" }
    }

    public let settings: CircuitBreakerSettings
    public private(set) var state = State.closed
    private var window: RollingWindow
    /// When an open breaker turns half-open.
    private var openUntil: UInt64 = 0
    private var probesInFlight = 0
    /// Incremented on every state change: outcomes from an earlier epoch are ignored.
    public private(set) var epoch: UInt32 = 0

    /// A closed breaker.
    public init(settings: CircuitBreakerSettings) {
        self.settings = settings
        window = RollingWindow(windowNanos: UInt64(settings.windowMs) * 1_000_000)
    }

    /// Whether `admit` would let a call through now (no side effect): for choosing among endpoints.
    public func admits(now: UInt64) -> Bool {
        switch state {
        case .closed: true
        case .open: now >= openUntil
        case .halfOpen: probesInFlight < settings.halfOpenProbes
        }
    }

    /// Takes a call through the breaker. An open breaker whose time is up turns half-open here (the
    /// transition is returned for the log).
    public mutating func admit(now: UInt64) -> (Admission, Transition?) {
        var transition: Transition?
        if state == .open && now >= openUntil {
            transition = change(to: .halfOpen, "open for \(settings.openMs) ms")
        }
        switch state {
        case .closed:
            return (.call, transition)
        case .open:
            return (.refused, transition)
        case .halfOpen:
            guard probesInFlight < settings.halfOpenProbes else { return (.refused, transition) }
            probesInFlight += 1
            return (.probe, transition)
        }
    }

    /// Records a call's outcome. `epoch` is the breaker's epoch when the call was admitted; `probe`
    /// says whether `admit` made it a probe.
    public mutating func record(failed: Bool, probe: Bool, epoch callEpoch: UInt32, now: UInt64) -> Transition? {
        guard callEpoch == epoch else { return nil }
        switch state {
        case .closed:
            window.add(first: 1, second: failed ? 1 : 0, now: now)
            guard failed else { return nil }
            let (calls, failures) = window.totals(now: now)
            guard calls >= settings.minRequests, Double(failures) >= settings.failureRatio * Double(calls) else { return nil }
            let ratio = Double(failures) / Double(calls)
            openUntil = now &+ UInt64(settings.openMs) * 1_000_000
            return change(to: .open, "failure ratio \(Self.format(ratio)) over \(calls) calls in \(settings.windowMs) ms")
        case .halfOpen:
            guard probe else { return nil }
            probesInFlight -= 1
            if failed {
                openUntil = now &+ UInt64(settings.openMs) * 1_000_000
                return change(to: .open, "probe failed")
            }
            return change(to: .closed, "probe succeeded")
        case .open:
            return nil
        }
    }

    /// A probe ended without a verdict (cancelled at shutdown): its slot is free again.
    public mutating func release(probe: Bool, epoch callEpoch: UInt32) {
        if probe && callEpoch == epoch && state == .halfOpen { probesInFlight -= 1 }
    }

    /// How long a refused caller should wait before trying again: the rest of the open time, or
    /// (half-open, probes busy) a tenth of `openMs`, the order of a probe's round trip at worst.
    public func retryAfterNanos(now: UInt64) -> UInt64 {
        switch state {
        case .closed: 0
        case .open: openUntil > now ? openUntil - now : 0
        case .halfOpen: UInt64(max(1, settings.openMs / 10)) * 1_000_000
        }
    }

    private mutating func change(to new: State, _ reason: String) -> Transition {
        let t = Transition(from: state, to: new, reason: reason)
        state = new
        epoch &+= 1
        probesInFlight = 0
        window.clear()
        return t
    }

    /// Two decimals without Foundation.
    static func format(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
