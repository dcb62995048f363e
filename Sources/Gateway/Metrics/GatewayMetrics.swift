internal import GatewayBackend

/// Counters of one loop. Plain integers, touched only on the loop's thread (no atomics on the hot
/// path); the admin API collects a copy from every loop and adds them up.
struct GatewayMetrics: Sendable {
    /// Connections accepted on the public listener.
    var connectionsAccepted = 0
    /// Connections refused by `maxConnections` / `maxConnectionsPerIP`.
    var connectionsRefused = 0
    /// Messages answered with `rate_limited`.
    var rateLimited = 0
    /// WebSocket handshakes completed.
    var websocketsOpened = 0
    /// WebSocket data messages received from clients.
    var messagesReceived = 0
    /// WebSocket data frames sent to clients (replies, pushes, errors).
    var messagesSent = 0
    /// Push frames written by fan-out (one per recipient).
    var fanoutDeliveries = 0
    /// Connections closed with 1008 because their send queue was full.
    var slowConsumersClosed = 0
    /// Messages run through a permessage-deflate compressor; a fan-out frame counts once, however
    /// many recipients share it.
    var deflateMessages = 0
    /// Bytes those messages had before compression, and bytes sent for them (the compressed size, or
    /// the plain size when compressing did not make a message smaller).
    var deflateBytesIn = 0
    var deflateBytesOut = 0
    /// `POST <module path>` requests.
    var httpCommands = 0
    /// Proxied `http[]` requests.
    var proxyRequests = 0
    /// Backend calls per route index (see `RuntimeConfig.routeLabels`) and outcome.
    var backendCalls: [[Int]] = []
    /// Backend call latency histogram per route: counts per bucket (+Inf last), sum in seconds.
    var backendLatencyBuckets: [[Int]] = []
    var backendLatencySum: [Double] = []
    /// WebSocket handshakes by the status that ended them (101, or the refusal): at most one key per
    /// HTTP status, so the label's cardinality stays bounded.
    var handshakeStatuses: [Int: Int] = [:]
    /// WebSocket closes by code label (`closeLabel`).
    var closeCodes: [String: Int] = [:]
    /// Hooks delivered / failed attempts / dropped.
    var hooksDelivered = 0
    var hookFailures = 0
    var hooksDropped = 0

    /// Upper bounds of the latency buckets in seconds: 1 ms to 10 s, roughly ×2.5 per step.
    static let latencyBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Outcomes of a backend call, as the `outcome` label.
    enum Outcome: Int, CaseIterable {
        case ok, status4xx, status5xx, unavailable, timeout, badResponse, cancelled

        var label: String {
            switch self {
            case .ok: "ok"
            case .status4xx: "status_4xx"
            case .status5xx: "status_5xx"
            case .unavailable: "unavailable"
            case .timeout: "timeout"
            case .badResponse: "bad_response"
            case .cancelled: "cancelled"
            }
        }
    }

    init(routes: Int) {
        backendCalls = Array(repeating: Array(repeating: 0, count: Outcome.allCases.count), count: routes)
        backendLatencyBuckets = Array(repeating: Array(repeating: 0, count: Self.latencyBounds.count + 1), count: routes)
        backendLatencySum = Array(repeating: 0, count: routes)
    }

    /// Records one compression of `input` bytes into `output` (nil: the message went out plain).
    mutating func recordDeflate(input: Int, output: Int?) {
        deflateMessages += 1
        deflateBytesIn += input
        deflateBytesOut += output ?? input
    }

    /// Restarts the per-route counters for a new set of routes (after a reload).
    mutating func resetRoutes(count: Int) {
        backendCalls = Array(repeating: Array(repeating: 0, count: Outcome.allCases.count), count: count)
        backendLatencyBuckets = Array(repeating: Array(repeating: 0, count: Self.latencyBounds.count + 1), count: count)
        backendLatencySum = Array(repeating: 0, count: count)
    }

    /// Records a handshake's outcome.
    mutating func recordHandshake(status: Int) {
        handshakeStatuses[min(max(status, 100), 599), default: 0] += 1
    }

    /// Records a WebSocket close.
    mutating func recordClose(code: UInt16) {
        closeCodes[Self.closeLabel(code), default: 0] += 1
    }

    /// The `code` label of a close: the code itself below 3000 (the protocol's codes, a small set),
    /// `3xxx` / `4xxx` for the registered and private ranges (any client may send any of 2,000
    /// values there; an exact label would let clients grow the metric without bound).
    static func closeLabel(_ code: UInt16) -> String {
        switch code {
        case 3000..<4000: "3xxx"
        case 4000..<5000: "4xxx"
        case 1000..<3000: String(code)
        default: "other"
        }
    }

    /// Records one finished backend call.
    mutating func recordCall(route: Int, outcome: Outcome, seconds: Double) {
        guard route >= 0 && route < backendCalls.count else { return }
        backendCalls[route][outcome.rawValue] += 1
        var b = 0
        while b < Self.latencyBounds.count && seconds > Self.latencyBounds[b] { b += 1 }
        backendLatencyBuckets[route][b] += 1
        backendLatencySum[route] += seconds
    }

    /// Adds another loop's counters.
    mutating func add(_ o: GatewayMetrics) {
        connectionsAccepted += o.connectionsAccepted
        connectionsRefused += o.connectionsRefused
        rateLimited += o.rateLimited
        websocketsOpened += o.websocketsOpened
        messagesReceived += o.messagesReceived
        messagesSent += o.messagesSent
        fanoutDeliveries += o.fanoutDeliveries
        slowConsumersClosed += o.slowConsumersClosed
        deflateMessages += o.deflateMessages
        deflateBytesIn += o.deflateBytesIn
        deflateBytesOut += o.deflateBytesOut
        httpCommands += o.httpCommands
        proxyRequests += o.proxyRequests
        hooksDelivered += o.hooksDelivered
        hookFailures += o.hookFailures
        hooksDropped += o.hooksDropped
        handshakeStatuses.merge(o.handshakeStatuses, uniquingKeysWith: +)
        closeCodes.merge(o.closeCodes, uniquingKeysWith: +)
        for r in 0..<min(backendCalls.count, o.backendCalls.count) {
            for k in 0..<backendCalls[r].count { backendCalls[r][k] += o.backendCalls[r][k] }
            for k in 0..<backendLatencyBuckets[r].count { backendLatencyBuckets[r][k] += o.backendLatencyBuckets[r][k] }
            backendLatencySum[r] += o.backendLatencySum[r]
        }
    }
}

/// A point-in-time view of one loop, collected for `/v1/stats` and `/metrics`.
struct LoopSnapshot: Sendable {
    var index: Int
    var metrics: GatewayMetrics
    var openConnections: Int
    var websockets: Int
    var rooms: Int
    var users: Int
    var backendInFlight: Int
    var hooksPending: Int
    var bytesReceived: UInt64
    var bytesSent: UInt64
    var queuedBytes: Int
    /// TLS handshakes on this loop's listeners: completed, of which resumed, and failed.
    var tlsHandshakes: UInt64 = 0
    var tlsResumed: UInt64 = 0
    var tlsFailed: UInt64 = 0
    /// The backend client's counts: calls per HTTP client, DNS queries, connect failovers.
    var backendClient = BackendClientCounters()
    /// This loop's view of each upstream, in the config's order.
    var upstreams: [UpstreamSnapshot] = []
}
