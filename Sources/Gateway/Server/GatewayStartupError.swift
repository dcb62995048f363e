public import GatewayIO
internal import GatewayBackend

/// Why the gateway did not start. Each case ends the process with exit status 1 and the reason on
/// stderr (DESIGN: every start-up error refuses to start).
public enum GatewayStartupError: Error, CustomStringConvertible {
    /// A socket could not be bound, or the requested I/O engine is unavailable.
    case io(IOError)
    /// An event loop could not start (its engine, or its per-loop state).
    case loops(EventLoopGroupError)
    /// A TLS certificate or key could not be loaded (`tls` or `admin.tls`).
    case tls(section: String, TLSError)

    /// The underlying reason.
    public var description: String {
        switch self {
        case .io(let e): "\(e)"
        case .loops(let e): "\(e)"
        case .tls(let section, let e): "\(section): \(e)"
        }
    }
}

/// Why one loop's state could not be created.
enum LoopSetUpError: Error, CustomStringConvertible {
    /// The backend client could not start (libcurl).
    case backend(BackendError)
    /// The engine refused a listening socket.
    case listener(IOError)

    var description: String {
        switch self {
        case .backend(let e): "backend client: \(e)"
        case .listener(let e): "listener: \(e)"
        }
    }
}
