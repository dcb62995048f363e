package import GatewayBackend

/// A transport that "plays the backend": it records the calls it is given and finishes them when
/// the test says so, or at once from inside `start` when `finishInsideStart` is set.
package final class FakeTransport: BackendTransport {
    /// The client it reports to (set by `BackendClient`).
    package unowned(unsafe) var sink: (any BackendTransportSink)?
    /// The calls started and not finished yet, oldest first.
    package var started: [BackendCall] = []
    /// When set, `start` finishes each call at once with this error (nil: success), from inside
    /// `start`, which a real transport must never do; the client must still complete it later.
    package var finishInsideStart: BackendError?? = nil
    /// Whether `close` was called.
    package var closed = false

    /// Creates a transport with nothing started.
    package init() {}

    package func start(_ call: BackendCall) -> Bool {
        started.append(call)
        if let e = finishInsideStart { sink?.transport(self, didFinish: call, error: e) }
        return true
    }

    package func close() {
        closed = true
        let pending = started
        started.removeAll()
        for c in pending { sink?.transport(self, didFinish: c, error: .cancelled) }
    }

    /// Finishes the oldest started call with `status`.
    package func answerOldest(status: Int) {
        guard !started.isEmpty else { return }
        let c = started.removeFirst()
        c.response.status = status
        sink?.transport(self, didFinish: c, error: nil)
    }
}
