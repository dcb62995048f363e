public import GatewayIO
internal import CGatewayShims

/// Backend calls made from one event loop. It keeps a pool of `BackendCall`s, picks a transport per
/// call (the gateway's own HTTP/1.1 client for plain-http backends, at IP addresses or host names
/// resolved on the loop; libcurl for https), and reports every outcome to the call's handler on the
/// loop, always after `start` has returned. Streamed reverse-proxy exchanges are a type of their own (`BackendStream`), made here
/// too because they share libcurl's connection cache.
public final class BackendClient: BackendTransportSink {
    /// The loop that drives this client.
    public unowned(unsafe) let loop: EventLoop
    /// The gateway's own HTTP/1.1 client, tried first (called directly: it carries most calls).
    private let native: NativeHTTP1Transport?
    /// What carries every call the native client does not: libcurl (or a test's fake).
    private let fallback: any BackendTransport
    /// libcurl's multi handle, shared by `CurlTransport` and the streams (nil when a test replaced
    /// the transports).
    private let multi: CurlMulti?
    private var pool: [BackendCall] = []
    /// Calls that ended inside `start` (refused at once, client closed), reported on the next tick.
    private var deferred: [BackendCall] = []
    private var deferredTimer: LoopTimer?
    var closed = false
    /// Calls in flight, all transports together (streams not included). A call to an upstream
    /// counts once, retries included.
    public internal(set) var inFlight = 0
    /// Calls started on the gateway's own HTTP/1.1 client and on libcurl (streams not included).
    private var nativeCalls = 0, curlCalls = 0
    /// This loop's state of each upstream group, in the config's order (`setUpstreams`).
    public internal(set) var upstreams: [Upstream] = []
    /// Receives every state change of an upstream endpoint (breakers, ejections), for the log line
    /// and metrics; set by the owner.
    public var onUpstreamEvent: ((UpstreamEvent) -> Void)?
    /// Upstream calls waiting for their retry's backoff, and the timer that starts them.
    var retryQueue: [BackendCall] = []
    var retryTimer: LoopTimer?
    /// Most calls kept in the pool; beyond this a burst's calls are freed after use.
    static let poolLimit = 1024

    /// Initializes libcurl and c-ares for the process (with `dns.hostsFile`, c-ares's `CARES_HOSTS`).
    /// Call once, before any thread starts.
    public static func globalInit(dns: DNSSettings = DNSSettings()) {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        DNSResolver.prepareProcess(dns)
    }

    /// What this client has done so far, for metrics.
    public var counters: BackendClientCounters {
        let q = native?.dnsQueries ?? (answered: 0, failed: 0)
        return BackendClientCounters(
            nativeCalls: nativeCalls, curlCalls: curlCalls, dnsAnswered: q.answered, dnsFailed: q.failed,
            connectFailovers: native?.connectFailovers ?? 0)
    }

    /// Creates a client on `loop`. Call on the loop's thread.
    /// - Parameters:
    ///   - maxConnectionsPerHost: cap on parallel connections to one backend origin (0 = no cap);
    ///     calls beyond it wait for a free connection.
    ///   - nativeClient: use the gateway's own HTTP/1.1 client for plain-http backends
    ///     (`io.backendClient: auto`); false sends everything through libcurl.
    ///   - pipelineDepth: requests the native client may send on one connection before the first is
    ///     answered (1 = no pipelining, safe with any backend).
    ///   - tls: CA and client certificate for `https://` backends (nil: system CAs, no client certificate).
    ///   - dns: how the native client resolves host names (`io.dns`; the defaults read the system's
    ///     resolv.conf and hosts file).
    /// - Throws: `BackendError.unavailable` when libcurl cannot create its multi handle.
    public init(
        loop: EventLoop, maxConnectionsPerHost: Int = 0, nativeClient: Bool = true, pipelineDepth: Int = 1, tls: BackendTLS? = nil,
        dns: DNSSettings = DNSSettings()
    ) throws(BackendError) {
        guard let multi = CurlMulti(loop: loop, maxConnectionsPerHost: maxConnectionsPerHost) else {
            throw .unavailable("libcurl cannot create a multi handle")
        }
        multi.tls = tls
        self.loop = loop
        self.multi = multi
        native = nativeClient
            ? NativeHTTP1Transport(loop: loop, maxConnectionsPerHost: maxConnectionsPerHost, pipelineDepth: pipelineDepth, dns: dns) : nil
        fallback = CurlTransport(multi: multi)
        native?.sink = self
        fallback.sink = self
    }

    /// A client whose calls all go through `transport` (tests: a fake transport).
    package init(loop: EventLoop, transport: any BackendTransport) {
        self.loop = loop
        self.multi = nil
        native = nil
        fallback = transport
        transport.sink = self
    }

    deinit {
        if !closed { close() }
    }

    /// A call from the pool, reset to the defaults, for `purpose`; `handler` receives its outcome.
    public func makeCall(purpose: BackendCallPurpose, handler: any BackendCallHandler) -> BackendCall {
        let call = pool.isEmpty ? BackendCall() : pool.removeLast()
        call.purpose = purpose
        call.handler = handler
        return call
    }

    /// Starts a call made with `makeCall`. The outcome reaches the call's handler on this loop, and
    /// never before `start` returns: a call that ends at once (refused, client closed) is reported
    /// on the next tick.
    public func start(_ call: BackendCall) {
        call.startedAt = loop.now
        inFlight += 1
        guard !closed else {
            finishEarly(call, error: .cancelled)
            return
        }
        if let target = call.spec.upstream {
            startUpstream(call, target)
            return
        }
        launch(call)
    }

    /// Hands a call (or one try of an upstream call) to a transport.
    @inline(__always)
    func launch(_ call: BackendCall) {
        call.phase = .starting
        if native?.start(call) == true {
            nativeCalls &+= 1
        } else if fallback.start(call) {
            curlCalls &+= 1
        } else {
            transport(fallback, didFinish: call, error: .badResponse("no transport for \(call.spec.url)"))
        }
        if call.phase == .starting { call.phase = .inFlight }
    }

    /// Starts a streamed exchange for the reverse proxy (request body streamed up, response streamed
    /// down). Its end is reported to `handler` like a call's, and never from inside this method.
    public func startStream(_ stream: BackendStream) {
        guard let multi, !closed else {
            stream.finishLater(.cancelled, on: loop)
            return
        }
        multi.start(stream)
    }

    /// Cancels a stream in flight; its handler gets `.cancelled` (synchronously: the caller is
    /// tearing its side down).
    public func cancel(_ stream: BackendStream) {
        multi?.cancel(stream)
    }

    /// Ends every call in flight with `.cancelled` and frees libcurl's state (shutdown). Calls
    /// started afterwards end with `.cancelled` too.
    public func close() {
        guard !closed else { return }
        closed = true
        cancelRetries()
        native?.close()
        fallback.close()
        multi?.close()
        pool.removeAll()
    }

    // MARK: BackendTransportSink

    package func transport(_ transport: any BackendTransport, didFinish call: BackendCall, error: BackendError?) {
        if call.phase == .starting {
            finishEarly(call, error: error)
            return
        }
        deliver(call, error: error)
    }

    func finishEarly(_ call: BackendCall, error: BackendError?) {
        call.error = error
        call.phase = .finishedEarly
        deferred.append(call)
        if deferredTimer == nil {
            deferredTimer = loop.makeTimer { [unowned(unsafe) self] in self.runDeferred() }
        }
        if deferredTimer?.isScheduled == false { deferredTimer?.schedule(afterNanos: 0) }
    }

    private func runDeferred() {
        while !deferred.isEmpty {
            let batch = deferred
            deferred.removeAll(keepingCapacity: true)
            for call in batch { deliver(call, error: call.error) }
        }
    }

    func deliver(_ call: BackendCall, error: BackendError?) {
        if call.attempt.upstream != nil {
            // A try of an upstream call: it may be retried, or end with a different error.
            if case .done(let final) = upstreamTryEnded(call, error: error) { complete(call, error: final) }
            return
        }
        complete(call, error: error)
    }

    /// Reports a call's outcome to its handler and recycles it.
    @inline(__always)
    private func complete(_ call: BackendCall, error: BackendError?) {
        inFlight -= 1
        call.error = error
        let handler = call.handler
        handler?.backendCallDidComplete(call)
        call.reset()
        if !closed && pool.count < Self.poolLimit { pool.append(call) }
    }
}
