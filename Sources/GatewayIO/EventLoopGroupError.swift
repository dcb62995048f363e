/// Why an `EventLoopGroup` did not start. Start-up is all or nothing: when one loop fails, no loop
/// runs and the group's initializer throws this.
public enum EventLoopGroupError: Error, CustomStringConvertible {
    /// Loop `loop`'s engine (io_uring ring, epoll instance, eventfd) or thread could not be created.
    case engine(loop: Int, IOError)
    /// The `setUp` closure threw on loop `loop` (its per-loop state could not be created).
    case setUp(loop: Int, any Error)

    /// `loop N: reason`.
    public var description: String {
        switch self {
        case .engine(let loop, let error): "loop \(loop): \(error)"
        case .setUp(let loop, let error): "loop \(loop) set-up: \(error)"
        }
    }
}
