internal import GatewayIO

/// What every handler of a public-listener connection offers the loop, whichever protocol it speaks
/// now (HTTP/1.1, then possibly WebSocket after the 101): its place in the loop's registry, drain
/// and forced close.
protocol ClientHandler: ConnectionHandler {
    /// The socket.
    var tcp: TCPConnection { get }
    /// Who the connection is, carried across the upgrade.
    var identity: ClientIdentity { get }
    /// Position in `LoopContext.clients` (swap-remove).
    var registryIndex: Int { get set }
    /// SIGTERM: stop taking new work; close once what was started is answered.
    func beginDrain()
    /// The drain timeout passed: close now.
    func forceClose()
}
