/// What a backend call is for. The caller reads it back in `backendCallDidComplete` to route the
/// outcome, instead of downcasting an untyped context object; what each case means is the gateway
/// layer's business (DESIGN §4 names the calls).
public enum BackendCallPurpose: Sendable, Equatable {
    /// A WebSocket message; the number is the message's place in its connection's reply order.
    case message(seq: UInt64)
    /// A `POST <module path>` command.
    case httpCommand
    /// A module's handshake hook for a WebSocket upgrade.
    case handshake
    /// The handshake hook authorizing a `POST <module path>` command.
    case commandAuth
    /// A lifecycle hook (disconnect); the number identifies the job in its dispatcher.
    case hook(job: UInt64)
    /// An active health check of an upstream endpoint; the number identifies it in its checker.
    case healthCheck(Int)
    /// Tests and tools.
    case other(Int)
}
