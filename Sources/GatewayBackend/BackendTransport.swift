/// A way of carrying backend calls: the gateway's own HTTP/1.1 client (`NativeHTTP1Transport`) or
/// libcurl (`CurlTransport`); tests plug in a fake. `BackendClient` picks one per call and turns what
/// the transport reports into the handler's callback.
///
/// A transport may report a call's end at any time after `start` began, even from inside `start`
/// (a refused connection, a closed client): `BackendClient` defers such an early end so that handlers
/// are never re-entered from their own `start`.
package protocol BackendTransport: AnyObject {
    /// Starts carrying `call` and returns true, then reports its end once through
    /// `sink.transport(_:didFinish:error:)`; or returns false at once, having done nothing, when it
    /// cannot carry this call (the native client: anything but plain http to an IP address), so the
    /// next transport is tried. One method rather than `accepts` + `start`: deciding may cost a
    /// lookup (the URL's parsed target) that starting would repeat.
    func start(_ call: BackendCall) -> Bool
    /// Ends every call in flight with `.cancelled` and releases connections (shutdown).
    func close()
    /// Where ends are reported; set by the owning `BackendClient`, which owns the transport (so
    /// implementations hold it `unowned(unsafe)`: a weak reference would move the client's reference
    /// count to a side table and make every retain of it slow, on every call).
    var sink: (any BackendTransportSink)? { get set }
}

/// Receives the end of calls from transports (the `BackendClient`).
package protocol BackendTransportSink: AnyObject {
    /// `call` ended: `call.response` is filled in, or `error` says why not.
    func transport(_ transport: any BackendTransport, didFinish call: BackendCall, error: BackendError?)
}
