/// Receives the events of one accepted TCP connection. All calls happen on the connection's loop.
public protocol ConnectionHandler: AnyObject {
    /// Bytes arrived. `bytes` is valid only during the call (it points into a loop-owned receive
    /// buffer) and may be modified in place, e.g. to unmask WebSocket payloads. Data can still arrive
    /// shortly after `pauseReading()`; the handler must keep it.
    func connectionDidReceive(_ connection: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer)

    /// The peer finished sending (EOF) or the receive side failed. Nothing more will be received.
    func connectionDidReachEOF(_ connection: TCPConnection)

    /// Every queued byte has been written (called only after `notifyWhenDrained` was set).
    func connectionDidDrain(_ connection: TCPConnection)

    /// The connection's deadline (`TCPConnection.deadline`) passed.
    func connectionDidTimeOut(_ connection: TCPConnection)

    /// The socket is closed and the connection is gone. The last call the handler receives.
    func connectionDidClose(_ connection: TCPConnection, error: IOError?)

    /// An outgoing connection (`EventLoop.connect`) is established; reading has started.
    func connectionDidConnect(_ connection: TCPConnection)
}

extension ConnectionHandler {
    /// Accepted connections never connect; handlers of outgoing ones override this.
    public func connectionDidConnect(_ connection: TCPConnection) {}
}

/// Receives connections accepted on a listener.
public protocol AcceptHandler: AnyObject {
    /// A connection was accepted. Set `connection.handler` before returning, or close it.
    func accepted(_ connection: TCPConnection)
}

/// Receives readiness of a file descriptor watched with `EventLoop.watch` (libcurl's sockets).
public protocol FDWatcher: AnyObject {
    /// The descriptor is ready. Readiness is level-triggered: it is reported again on the next tick
    /// while the condition holds and the watch is still interested.
    func fdReady(_ fd: Int32, token: Int, readable: Bool, writable: Bool, error: Bool)
}
