internal import GatewayIO

/// Which scenario a run executes.
enum BenchMode: String, Sendable {
    /// Request/reply round trips (`RTTScenario`).
    case rtt
    /// Publisher → subscribers broadcast (`FanoutScenario`).
    case fanout
    /// Idle connections (`HoldScenario`).
    case hold
    /// Connect → upgrade → close churn (`HandshakeScenario`).
    case handshakes
}

/// How the fanout publisher triggers a broadcast.
enum PublisherKind: Sendable {
    /// A text message (`--pub-msg`) on its own WebSocket connection to `--pub-url`.
    case webSocket(url: BenchURL, message: Template)
    /// A keep-alive `POST` of `--pub-body` to `--pub-http`, with extra `--pub-header`s.
    case http(url: BenchURL, body: Template, headers: [String])
}

/// `rtt --rate`: the open-loop settings (see `OpenLoopSchedule`).
struct OpenLoopConfig: Sendable, Equatable {
    /// Messages per second over all connections.
    var rate: Double
    /// Messages outstanding per connection before a due send is held back until a reply frees a slot.
    var maxInFlight: Int
    /// The shortest time between two pacing wake-ups; sends due in between wait for the next one.
    var paceNanos: UInt64 = 0
}

/// Everything the event loops need to run a scenario; immutable and shared by all loops.
struct BenchConfig: Sendable {
    var mode: BenchMode
    var url: BenchURL
    /// Connections (rtt/hold), subscribers (fanout) or concurrent workers (handshakes).
    var connections: Int
    /// Event loops for the connections (fanout adds one loop for the publisher).
    var threads: Int
    /// The engine the loops run on (already resolved, never `auto`).
    var engine: IOEngineKind
    /// Why `auto` fell back to epoll, for the summary.
    var engineFallbackReason: String?
    var warmupSeconds: Double
    var durationSeconds: Double
    /// Connects per second over all loops; 0 = as fast as possible (256 handshakes in flight per loop).
    var connectRate: Double
    /// Connect + handshake timeout.
    var timeoutNanos: UInt64
    /// Ping every connection this often; 0 = never.
    var pingIntervalNanos: UInt64
    /// Extra handshake headers, `Name: value`.
    var headers: [String]
    var json: Bool
    /// Offer permessage-deflate (`deflateOffer`) and inflate what comes back compressed.
    var deflate = false
    /// rtt: messages in flight per connection.
    var pipeline: Int = 1
    /// rtt: open loop at a fixed rate instead of `pipeline` messages kept in flight; nil = closed loop.
    var openLoop: OpenLoopConfig?
    /// rtt: the message template.
    var message = Template("")
    /// fanout: publishes per second.
    var publishRate: Double = 10
    /// fanout: how the publisher publishes.
    var publisher: PublisherKind?
    /// fanout: seconds to wait for late deliveries after the window; rtt open loop: for outstanding
    /// replies (those still missing then are lost).
    var graceSeconds: Double = 2
    /// Largest server message accepted: 256 MiB, as wsload, so the client never limits the server.
    var maxMessageBytes = 256 << 20

    /// The offer `--deflate` sends: no context takeover in either direction, so one decompressor per
    /// loop serves every connection (as the gateway does on its side).
    static let deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover"

    /// The upgrade request for the subscribers / connections.
    var upgrade: UpgradeRequest { UpgradeRequest(url: url, headers: headers) }
}
