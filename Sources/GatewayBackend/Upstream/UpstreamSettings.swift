/// One upstream group as configured (`upstreams.<name>` in gateway.json, DESIGN §10): several
/// endpoints serving the same API, how calls are spread over them, and what protects callers and
/// endpoints from each other (health checks, retries, circuit breakers, outlier ejection).
/// Validated by the gateway's config decoder; immutable and shared by every loop.
public struct UpstreamSettings: Sendable, Equatable {
    /// The group's name, as routes and hooks refer to it.
    public var name: String
    /// Base URLs (`http://host:port` or `https://…`, maybe with a path prefix); a call's URL is
    /// endpoint + the route's `path`. At most `maxEndpoints`.
    public var endpoints: [String]
    /// How an endpoint is chosen for each call.
    public var balance: UpstreamBalance = .roundRobin
    /// Active health checks; nil: none (endpoints count as healthy, passive ejection still applies).
    public var healthCheck: HealthCheckSettings? = nil
    /// Retries; nil: every call is tried once.
    public var retry: RetrySettings? = nil
    /// Per-endpoint circuit breakers; nil: none.
    public var circuitBreaker: CircuitBreakerSettings? = nil
    /// Passive outlier ejection. On by default (`OutlierDetectionSettings()`): an endpoint that
    /// fails five calls in a row is almost certainly down, and taking it out costs nothing while the
    /// others serve; nil turns it off.
    public var outlierDetection: OutlierDetectionSettings? = OutlierDetectionSettings()

    /// Most endpoints in one group: a retry avoids the endpoints it already tried with a 64-bit
    /// mask, and a group larger than that is a job for a load balancer in front of it.
    public static let maxEndpoints = 64

    /// A group with the defaults above.
    public init(name: String, endpoints: [String]) {
        self.name = name
        self.endpoints = endpoints
    }
}

/// How an upstream picks the endpoint of a call.
public enum UpstreamBalance: String, Sendable, CaseIterable {
    /// Each endpoint in turn (the default: even spread with no state to go stale).
    case roundRobin = "round-robin"
    /// The endpoint with the fewest calls in flight from this loop (ties in turn): a slow endpoint
    /// gets fewer calls.
    case leastInflight = "least-inflight"
}

/// `healthCheck`: `GET <endpoint><path>` every `intervalMs`, run once per gateway.
public struct HealthCheckSettings: Sendable, Equatable {
    /// Path of the check, appended to each endpoint's base URL.
    public var path = "/healthz"
    /// Time between two checks of one endpoint. 2 s notices a dead endpoint within seconds at a
    /// negligible load (one request per endpoint per 2 s for the whole gateway).
    public var intervalMs = 2000
    /// A check not answered within this counts as failed. 1 s: a health endpoint should answer at
    /// once, and it must fit inside the interval.
    public var timeoutMs = 1000
    /// Failed checks in a row that take an endpoint out of rotation. 3 rides out one lost packet or
    /// a garbage collection pause.
    public var unhealthyAfter = 3
    /// Passed checks in a row that bring it back. 2 makes sure a restarting endpoint really serves.
    public var healthyAfter = 2

    /// The defaults above.
    public init() {}
}

/// `retry`: which failed calls are tried again, how often and how soon.
public struct RetrySettings: Sendable, Equatable {
    /// Total tries including the first. 2 (at most one retry) covers an endpoint that just died
    /// without doubling the load a sick service sees.
    public var attempts = 2
    /// What may be retried. The default retries only calls that never reached a backend, which is
    /// always safe.
    public var on: Set<RetryCondition> = [.connectFailure]
    /// Base of the exponential backoff between tries (full jitter: a retry waits a random time up to
    /// `backoffMs × 2^(n-1)`). 25 ms spreads a burst of retries without the client noticing.
    public var backoffMs = 25
    /// Cap of the backoff.
    public var maxBackoffMs = 250
    /// Longest a single try may take; nil (the default): all of what is left of the route's
    /// timeout. Set it below the route's `timeoutMs` for `timeout` retries to have time to happen:
    /// the tries of a call together never take longer than the route's timeout.
    public var perTryTimeoutMs: Int? = nil
    /// Retries allowed as a share of the calls (per loop, over a 10 s window), with a floor of
    /// `RetryBudget.minRetriesPerSecond`. 20 %: retries can at most add a fifth to the load of an
    /// upstream that fails everything, so they never turn an outage into a retry storm.
    public var budgetPercent = 20

    /// The defaults above.
    public init() {}

    /// Whether a response with `status` may be retried.
    public func retries(status: Int) -> Bool {
        on.contains(.status(status)) || (status >= 500 && status < 600 && on.contains(.serverErrors))
    }
}

/// One entry of `retry.on`.
public enum RetryCondition: Sendable, Hashable, CustomStringConvertible {
    /// `connect-failure`: the request never reached a backend (connection refused or failed before
    /// the request was written). Always safe.
    case connectFailure
    /// `timeout`: the call timed out. Honoured only on routes marked `idempotent`: the backend may
    /// have done the work.
    case timeout
    /// `"503"`: that response status.
    case status(Int)
    /// `"5xx"`: any 500–599 status.
    case serverErrors

    /// Parses a `retry.on` entry; nil when it is none of the forms above.
    public init?(parsing s: String) {
        switch s {
        case "connect-failure": self = .connectFailure
        case "timeout": self = .timeout
        case "5xx": self = .serverErrors
        default:
            guard s.utf8.count == 3, let n = Int(s), n >= 100, n <= 599 else { return nil }
            self = .status(n)
        }
    }

    /// The config spelling.
    public var description: String {
        switch self {
        case .connectFailure: "connect-failure"
        case .timeout: "timeout"
        case .status(let n): "\(n)"
        case .serverErrors: "5xx"
        }
    }
}

/// `circuitBreaker`: per endpoint and per loop.
public struct CircuitBreakerSettings: Sendable, Equatable {
    /// Share of failed calls in the window that opens the breaker. 0.5: half the calls failing is
    /// an endpoint in trouble, not bad luck.
    public var failureRatio = 0.5
    /// Calls the window must hold before the ratio counts, so that two failures out of three at a
    /// quiet moment do not open it. 20 as in most breaker libraries.
    public var minRequests = 20
    /// Length of the rolling window. 10 s reacts within seconds and forgets old trouble as fast.
    public var windowMs = 10_000
    /// How long an open breaker fails calls at once before it lets a probe through. 5 s gives a
    /// crashed process time to restart.
    public var openMs = 5000
    /// Calls let through at a time while half-open; the first success closes the breaker, the first
    /// failure opens it again. 1: one request is enough to learn whether the endpoint is back.
    public var halfOpenProbes = 1

    /// The defaults above.
    public init() {}
}

/// `outlierDetection`: passive ejection, per endpoint and per loop.
public struct OutlierDetectionSettings: Sendable, Equatable {
    /// Failed calls in a row (connect failures, resets, timeouts, 5xx) that eject an endpoint.
    /// 5 as in Envoy: a few failures are noise, five in a row are not.
    public var consecutiveFailures = 5
    /// The first ejection lasts this long; the n-th in a row lasts n times as long.
    public var baseEjectionMs = 5000
    /// Most endpoints ejected at once, as a share of the group (at least one of a group of two or
    /// more may always go, and never the last one). 50 %: the rest must be able to carry the load.
    public var maxEjectionPercent = 50

    /// The defaults above.
    public init() {}
}
