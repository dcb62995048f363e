internal import GatewayBackend
internal import GatewayIO

extension GatewayReplyError {
    /// The wire format's error for a call that got no usable response (DESIGN §3 codes).
    init(_ e: BackendError) {
        switch e {
        case .unavailable(let why): self.init(code: .backendUnavailable, message: "backend unavailable: \(why)", status: 503)
        case .timeout(let ms): self.init(code: .backendTimeout, message: "backend did not answer within \(ms) ms", status: 504)
        case .responseTooLarge(let limit): self.init(code: .backendError, message: "backend response larger than \(limit) bytes", status: 502)
        case .badResponse(let why): self.init(code: .backendError, message: "invalid backend response: \(why)", status: 502)
        case .cancelled: self.init(code: .backendUnavailable, message: "gateway shutting down", status: 503)
        case .upstreamUnavailable(let name, let ms):
            self.init(code: .backendUnavailable, message: "upstream \(name) unavailable: circuit open", status: 503, retryAfterMs: ms)
        }
    }

    /// `backend_error` for a non-2xx answer, carrying the backend's status.
    static func backendStatus(_ status: Int) -> GatewayReplyError {
        GatewayReplyError(code: .backendError, message: "backend answered \(status)", status: status)
    }
}

extension GatewayMetrics.Outcome {
    /// How a finished call counts in `gateway_backend_requests_total`.
    init(_ call: BackendCall) {
        switch call.error {
        case nil:
            let s = call.response.status
            self = s >= 500 ? .status5xx : (s >= 400 ? .status4xx : .ok)
        case .unavailable, .upstreamUnavailable: self = .unavailable
        case .timeout: self = .timeout
        case .responseTooLarge, .badResponse: self = .badResponse
        case .cancelled: self = .cancelled
        }
    }
}

extension LoopContext {
    /// Records a routed call's outcome and latency in this loop's metrics (`routeIndex` -1: a hook,
    /// not counted per route).
    func recordCall(_ call: BackendCall, routeIndex: Int) {
        guard routeIndex >= 0 else { return }
        let seconds = Double(loop.now &- call.startedAt) / 1e9
        metrics.recordCall(route: routeIndex, outcome: GatewayMetrics.Outcome(call), seconds: seconds)
    }
}
