public import GatewayBuffers

/// Receives the outcome of a backend call, on the loop that started it.
public protocol BackendCallHandler: AnyObject {
    /// The call finished: `call.response` holds the status, headers and body, or `call.error` says
    /// why there is none. Always called from a later point of the loop than `BackendClient.start`,
    /// never from inside it. The call object is recycled as soon as this returns: copy, or take with
    /// `takeResponseBody()`, what must outlive it.
    func backendCallDidComplete(_ call: BackendCall)
}

/// One call to a backend: the spec of the request, the purpose the caller gave it, and once it is
/// finished the response or the error. Pooled by `BackendClient` (`makeCall`), so a call allocates
/// nothing in the steady state; the transports keep their own per-call bookkeeping beside it.
public final class BackendCall {
    /// What to send.
    public var spec = BackendCallSpec()
    /// What the call is for (set by `BackendClient.makeCall`).
    public internal(set) var purpose: BackendCallPurpose = .other(0)
    /// Receives the outcome.
    public internal(set) var handler: (any BackendCallHandler)?
    /// The response, once complete.
    public package(set) var response = BackendResponse()
    /// Set when the call failed without a usable response.
    public internal(set) var error: BackendError?
    /// Loop time when the call was started (latency metrics, native timeouts).
    public internal(set) var startedAt: UInt64 = 0

    /// Where the call is in its life; `BackendClient` uses it to keep completions asynchronous.
    enum Phase {
        /// In the pool, or being filled in.
        case idle
        /// Inside `BackendClient.start`: a transport that finishes now must not call the handler yet.
        case starting
        /// Handed to a transport.
        case inFlight
        /// Finished during `start`; the handler is called from the client's deferred queue.
        case finishedEarly
    }
    var phase = Phase.idle
    /// Native HTTP/1.1 transport: attempts made (a call that died on a reused keep-alive connection
    /// before any byte of its response arrived is retried once on a fresh one, as libcurl does).
    var nativeAttempts = 0
    /// Native transport to a host name: connects that failed for this call (it moves to the name's
    /// next address until `DNSCache.connectAttempts`).
    var connectFailures = 0
    /// libcurl transport: the easy handle carrying this call while it is in flight there.
    var curl: CurlEasy?
    /// A call to an upstream group: its tries so far (`upstream` nil for a call to a URL).
    var attempt = UpstreamAttempt()

    init() {}

    /// Moves the response body out (no copy) so it can outlive the call.
    public func takeResponseBody() -> ByteBuffer {
        var b = ByteBuffer()
        swap(&b, &response.body)
        return b
    }

    /// Back to the pool's state.
    func reset() {
        spec.reset()
        purpose = .other(0)
        handler = nil
        response.reset()
        error = nil
        startedAt = 0
        phase = .idle
        nativeAttempts = 0
        connectFailures = 0
        curl = nil
        if attempt.upstream != nil { attempt = UpstreamAttempt() }
    }
}

/// The tries of a call to an upstream group, kept with the call between them.
struct UpstreamAttempt {
    /// The group (this loop's state of it); nil for a call to a URL.
    var upstream: Upstream?
    /// The endpoint of the try in flight; -1 between tries (or when none was made).
    var endpoint = -1
    /// The try is a half-open probe of its endpoint's breaker, admitted in breaker epoch `epoch`.
    var probe = false
    var epoch: UInt32 = 0
    /// Tries made.
    var tries = 0
    /// Endpoints tried (bit i: endpoint i), so that a retry goes elsewhere where it can.
    var tried: UInt64 = 0
    /// When the call started and when all its tries together must be over (the route's timeout).
    var firstStartedAt: UInt64 = 0
    var deadline: UInt64 = 0
    /// The route's timeout as the caller set it (each try gets what is left of it).
    var timeoutMs = 0
    /// When a scheduled retry starts.
    var retryAt: UInt64 = 0
}
