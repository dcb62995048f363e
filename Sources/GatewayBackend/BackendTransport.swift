/// A way of carrying backend calls: the gateway's own HTTP/1.1 client (`NativeHTTP1Transport`) or
/// libcurl (`CurlTransport`); tests plug in a fake. `BackendClient` picks one per call and turns what
/// the transport reports into the handler's callback.
///
/// A transport may report a call's end at any time after `start` began, even from inside `start`
/// (a refused connection, a closed client): `BackendClient` defers such an early end so that handlers
/// are never re-entered from their own `start`.
package protocol BackendTransport: AnyObject {
    /// Whether this transport can carry `spec` (the native client: plain http to an IP address).
    func accepts(_ spec: BackendCallSpec) -> Bool
    /// Starts carrying `call`; reports its end once through `sink.transport(_:didFinish:error:)`.
    func start(_ call: BackendCall)
    /// Ends every call in flight with `.cancelled` and releases connections (shutdown).
    func close()
    /// Where ends are reported; set by the owning `BackendClient`.
    var sink: (any BackendTransportSink)? { get set }
}

/// Receives the end of calls from transports (the `BackendClient`).
package protocol BackendTransportSink: AnyObject {
    /// `call` ended: `call.response` is filled in, or `error` says why not.
    func transport(_ transport: any BackendTransport, didFinish call: BackendCall, error: BackendError?)
}
