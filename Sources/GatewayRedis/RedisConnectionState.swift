/// Where a `RedisConnection` is. `/v1/cluster` reports `up` or `down`; `connecting` counts as down
/// there, since nothing can be sent yet.
public enum RedisConnectionState: Sendable, Equatable, CustomStringConvertible {
    /// Connecting, or connected and waiting for the answers to `AUTH`/`SELECT`. Commands queue.
    case connecting
    /// Connected and logged in: commands are written at once.
    case up
    /// Not connected: before `start()`, after `close()`, or waiting for the next reconnect attempt.
    /// Commands queue (up to the bound) unless the connection was closed.
    case down

    /// `connecting`, `up` or `down`.
    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .up: "up"
        case .down: "down"
        }
    }
}
