internal import GatewayHTTP1
public import GatewayIO
public import GatewayBackend

/// The whole gateway configuration (`gateway.json`), validated. Immutable and shared by every loop.
public struct GatewayConfig: Sendable {
    /// Public listener (WebSocket, `POST <module path>`, `/healthz`, `http[]` proxy routes).
    public var listen: SocketAddress
    /// I/O engine and loop count.
    public var io: IOSettings
    /// Admin listener; nil when the admin API is disabled.
    public var admin: AdminSettings?
    /// Limits and timeouts.
    public var limits: Limits
    /// WebSocket modules, by path.
    public var modules: [ModuleConfig]
    /// Plain HTTP reverse-proxy routes on the public listener.
    public var http: [HTTPProxyRoute]
    /// Several nodes on Redis; nil for a single node.
    public var cluster: ClusterSettings? = nil
    /// Serve `listen` over TLS only (`wss://`, `https://`); nil for plain TCP.
    public var tls: TLSSettings? = nil
    /// Upstream groups (DESIGN §10), sorted by name; routes and hooks refer to them by index.
    public var upstreams: [UpstreamSettings] = []

    /// I/O engine settings.
    public struct IOSettings: Sendable {
        /// `auto` probes io_uring and falls back to epoll.
        public var engine: IOEngineKind = .auto
        /// Event loops (threads); 0 means one per CPU core.
        public var loops: Int = 0
        /// Which HTTP client calls backends. `auto` (default): the gateway's own HTTP/1.1 client for
        /// every `http://` URL (IP addresses, and host names resolved on the loop through c-ares),
        /// libcurl for the rest (https, streamed proxying). `curl`: libcurl for every call.
        public var backendClient: BackendClientKind = .auto
        /// How the native client resolves backend host names (`io.dns`); the defaults follow the
        /// system's resolv.conf and hosts file. Read when the gateway starts.
        public var dns = DNSSettings()
        /// CA file and client certificate for `https://` backends; nil: the system CA store and no
        /// client certificate. Read when the gateway starts (a restart applies a change).
        public var backendTLS: BackendTLS? = nil
    }

    /// See `IOSettings.backendClient`.
    public enum BackendClientKind: String, Sendable {
        /// Native client where it applies, libcurl otherwise.
        case auto
        /// libcurl for every backend call.
        case curl
    }

    /// Admin API settings.
    public struct AdminSettings: Sendable {
        /// Where the admin API listens. Keep it on loopback or a private network.
        public var listen: SocketAddress
        /// Bearer token every admin request must carry.
        public var token: String
        /// Serve the admin API over TLS only; nil for plain TCP.
        public var tls: TLSSettings? = nil
    }

    /// A TLS listener's certificate and key (DESIGN §9). The files are re-read on SIGHUP.
    public struct TLSSettings: Sendable, Equatable {
        /// PEM certificate chain: the leaf first, then intermediates (a `fullchain.pem`).
        public var certificate: String
        /// PEM private key of the leaf.
        public var key: String
        /// Oldest protocol accepted. 1.2 by default: every client of the last decade speaks it, and
        /// with only ECDHE AEAD suites offered it has no known weakness; 1.3 narrows it further.
        public var minVersion: TLSVersion = .tls12
    }
}

/// Limits and timeouts, each with a default that suits a public-facing gateway.
public struct Limits: Sendable, Equatable {
    /// Largest WebSocket message (all fragments together). 1 MiB fits any sane command and bounds the
    /// memory one client can make the gateway buffer; larger messages close with 1009.
    public var maxMessageBytes = 1_048_576
    /// Most bytes queued for one client before it counts as a slow consumer and is closed with 1008.
    /// 4 MiB absorbs bursts of replies for a client on a slow link without letting one stalled reader
    /// hold unbounded memory.
    public var sendQueueBytes = 4_194_304
    /// A WebSocket that sends nothing (not even a pong) for this long is closed. 120 s outlives the
    /// ping interval several times over, so only dead peers are closed.
    public var idleTimeoutSeconds = 120
    /// The gateway pings a WebSocket after this long without traffic. 30 s keeps NAT and proxy
    /// mappings alive (many drop idle TCP after 60 s).
    public var pingIntervalSeconds = 30
    /// Default timeout of a backend call, unless a route sets `timeoutMs`.
    public var backendTimeoutMs = 5000
    /// A client must finish its HTTP request (including the WebSocket handshake) within this time.
    /// 10 s is generous for real clients and stops slowloris-style connections from holding slots.
    public var handshakeTimeoutSeconds = 10
    /// Largest HTTP request head (request line + headers). 16 KiB fits large cookies and tokens.
    public var maxHeaderBytes = 16_384
    /// Largest HTTP request body (`POST <module path>`). Same default as `maxMessageBytes`.
    public var maxRequestBodyBytes = 1_048_576
    /// Backend calls one connection may have in flight; further messages wait (the gateway stops
    /// reading that socket) instead of piling up. 64 lets a client pipeline freely.
    public var maxInflightPerConnection = 64
    /// Largest backend response body accepted; larger replies fail with `backend_error`.
    /// 16 MiB is far above any sane reply and bounds memory per call.
    public var maxBackendResponseBytes = 16_777_216
    /// On SIGTERM, how long in-flight backend calls and disconnect hooks may take before exit.
    public var drainTimeoutSeconds = 10
    /// After the gateway sends a close frame, how long it waits for the client's before dropping TCP.
    public var closeTimeoutSeconds = 5
    /// Most client connections at once (all loops, HTTP and WebSocket). 0 means 90 % of the process's
    /// open-file limit, which leaves descriptors for backends, hooks and logs. Connections beyond it
    /// get `503` and are closed at once.
    public var maxConnections = 0
    /// Most connections from one IP address; 0 means no limit. Off by default because behind a load
    /// balancer or a carrier NAT many clients share one address; turn it on at the edge.
    public var maxConnectionsPerIP = 0
    /// Messages per second one WebSocket may send (token bucket); beyond it messages are answered
    /// with `rate_limited` and not processed. 0 turns the limit off. 1000/s is far above interactive
    /// use and stops a single client from monopolizing backends.
    public var messagesPerSecond = 1000
    /// How many messages a client may send at once before the rate applies (the bucket size).
    public var messageBurst = 2000
    /// Requests the gateway's own HTTP client may send on one backend connection before the first is
    /// answered (HTTP/1.1 pipelining). 1, the default, never pipelines: safe with every backend. Raise
    /// it only for backends known to handle pipelined requests in order; a broken connection then
    /// fails the calls behind the first with `backend_error` (they are never retried: they may have
    /// run).
    public var backendPipelineDepth = 1
    /// Parallel connections one loop opens to one backend host; further calls wait inside libcurl.
    /// 256 keeps a slow backend from being hit by thousands of connections at once. 0 = no limit.
    public var maxBackendConnectionsPerHost = 256
    /// Largest request or response body of a proxied `http[]` request. Proxied bodies are streamed,
    /// never held whole, so this bounds transfer size, not memory; 100 MiB suits uploads and downloads
    /// an API gateway usually carries.
    public var maxProxyBodyBytes = 104_857_600

    /// The defaults.
    public init() {}
}

/// One WebSocket module: a path, a wire format, hooks and a command map.
public struct ModuleConfig: Sendable {
    /// The request path that selects this module (exact match, query ignored).
    public var path: String
    /// How messages are parsed and replies packed.
    public var parser: ParserKind
    /// Handshake hook (a URL or an upstream), or nil to accept every valid handshake.
    public var handshake: BackendTarget?
    /// Disconnect hook (a URL or an upstream), or nil.
    public var disconnect: BackendTarget?
    /// Command → route.
    public var routes: [String: Route]
    /// Route for commands no entry matches; nil gives `unknown_command`.
    public var defaultRoute: Route?
    /// For the `raw` parser: the command every message maps to. Defaults to `message`.
    public var command: String
    /// Allowed `Origin` values; nil allows any (and requests without Origin).
    public var origins: [String]?
    /// Subprotocols the module speaks, in preference order.
    public var subprotocols: [String]
    /// Handshake headers forwarded to backends on every call (e.g. `Authorization`, `Cookie`).
    /// Empty by default: credentials reach backends only when the operator says so.
    public var forwardHeaders: [String]
    /// Timeout for the handshake hook; defaults to `limits.backendTimeoutMs`.
    public var hookTimeoutMs: Int?
    /// `auth.jwt`: tokens checked at connect by the gateway itself; nil: none.
    public var jwt: JWTSettings? = nil
    /// `compression`: permessage-deflate; disabled unless the config enables it.
    public var compression = CompressionSettings()
}

/// Wire format of a module (DESIGN §3).
public enum ParserKind: String, Sendable, CaseIterable {
    /// `{"cmd","id","data"}` envelopes in text frames.
    case json
    /// `cmd:body` text.
    case text
    /// The whole frame is the body; the command is the module's `command`.
    case raw
}

/// Where a command goes and how its reply is delivered.
public struct Route: Sendable, Equatable {
    /// A backend URL or a handler inside the gateway.
    public enum Target: Sendable, Equatable {
        /// Call this URL.
        case url(String)
        /// A built-in handler.
        case local(LocalHandler)
        /// An endpoint of an upstream group (`upstream` + `path`).
        case upstream(UpstreamTarget)
    }

    /// Built-in handlers.
    public enum LocalHandler: String, Sendable, CaseIterable {
        /// Replies with the message's body (health checks, benchmarks).
        case echo
    }

    /// Who receives the reply.
    public enum Deliver: Sendable, Equatable {
        /// Only the sender (default).
        case sender
        /// Every connection.
        case all
        /// Every connection except the sender.
        case others
        /// Every room the sender has joined (each recipient once).
        case senderRooms
        /// One named room.
        case room(String)
        /// Every connection of a user (only from the `Gateway-Deliver` response header).
        case user(String)
        /// These connections (only from the `Gateway-Deliver` response header).
        case connections([String])
        /// Nobody (fire and forget).
        case none

        /// Parses a `Gateway-Deliver` value: `sender`, `all`, `others`, `room` (the sender's rooms),
        /// `room:<name>`, `user:<id>`, `connections:<id>,<id>` or `none`.
        public init?(header value: String) {
            let v = value.trimmingOWS()
            switch v {
            case "sender": self = .sender
            case "all": self = .all
            case "others": self = .others
            case "room": self = .senderRooms
            case "none": self = .none
            default:
                if v.hasPrefix("room:"), v.count > 5 { self = .room(String(v.dropFirst(5))) }
                else if v.hasPrefix("user:"), v.count > 5 { self = .user(String(v.dropFirst(5))) }
                else if v.hasPrefix("connections:") {
                    let ids = v.dropFirst(12).split(separator: ",").map { String($0).trimmingOWS() }.filter { !$0.isEmpty }
                    if ids.isEmpty { return nil }
                    self = .connections(ids)
                } else { return nil }
            }
        }
    }

    /// The target.
    public var target: Target
    /// Reply delivery.
    public var deliver: Deliver = .sender
    /// HTTP method for the backend call.
    public var method: String = "POST"
    /// Timeout for this route's calls; nil uses `limits.backendTimeoutMs`.
    public var timeoutMs: Int?
    /// Extra handshake headers forwarded on this route's calls (added to the module's), lower-cased.
    public var forwardHeaders: [String] = []
    /// HTTP version of this route's calls (`protocol`). HTTP/1.1 by default: every backend speaks
    /// it and the gateway's own client carries it fastest; h2c/h2 go through libcurl's HTTP/2.
    public var httpProtocol = BackendProtocol.http1
    /// The command is safe to run twice (`idempotent`): an upstream may retry it after a timeout.
    /// False by default: a timed-out command may have run, and only the operator knows whether
    /// running it again is harmless.
    public var idempotent = false
    /// Index of this route's metrics (assigned when the config is put in force; -1 before).
    var metricsIndex = -1
}

/// A plain HTTP prefix proxied to a backend.
public struct HTTPProxyRoute: Sendable {
    /// Request path prefix, e.g. `/api/`.
    public var prefix: String
    /// Backend base URL; the path after the prefix is appended.
    public var url: String
    /// Timeout for proxied calls; nil uses `limits.backendTimeoutMs`.
    public var timeoutMs: Int?
    /// HTTP version spoken to the backend (`protocol`); HTTP/1.1 unless the backend needs HTTP/2.
    /// Proxied exchanges always go through libcurl, so h2c/h2 cost nothing extra here.
    public var httpProtocol = BackendProtocol.http1
}
