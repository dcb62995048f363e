internal import Synchronization

/// An upstream as every loop shares it: its settings and the active health of its endpoints.
///
/// Health checks run once per gateway (on loop 0, `UpstreamHealthChecker`); their verdict is one
/// atomic flag per endpoint that every loop's balancer reads (a relaxed load: a loop that sees a
/// change a moment late sends one more call to a dying endpoint, which passive ejection and retries
/// cover). Breakers, ejection and in-flight counts are per loop (`Upstream`).
public final class UpstreamGroup: Sendable {
    public let settings: UpstreamSettings
    private let health: [HealthFlag]

    /// A group whose endpoints are all healthy.
    public init(settings: UpstreamSettings) {
        self.settings = settings
        health = settings.endpoints.map { _ in HealthFlag() }
    }

    /// The group's name.
    public var name: String { settings.name }

    /// Whether endpoint `i` passes its health checks (always true without `healthCheck`).
    public func isHealthy(_ i: Int) -> Bool {
        health[i].value.load(ordering: .relaxed)
    }

    /// Sets endpoint `i`'s health (the health checker, on loop 0).
    public func setHealthy(_ i: Int, _ healthy: Bool) {
        health[i].value.store(healthy, ordering: .relaxed)
    }
}

/// One endpoint's health verdict, readable from any loop.
private final class HealthFlag: Sendable {
    let value = Atomic<Bool>(true)
}
