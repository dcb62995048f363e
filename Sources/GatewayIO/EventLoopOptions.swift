/// Tuning for one event loop's engine.
public struct EventLoopOptions: Sendable {
    /// io_uring submission queue entries. 4096 lets one tick queue a send for thousands of
    /// connections without parking work for the next tick; the completion queue is four times larger.
    public var ringEntries: UInt32 = 4096
    /// Provided receive buffers per loop (power of two). With 16 KiB buffers, 256 buffers pin 4 MiB per
    /// loop at most, shared by all connections on it, instead of a buffer per connection.
    public var receiveBufferCount: UInt32 = 256
    /// Size of each provided receive buffer (and of the epoll engine's shared read buffer).
    public var receiveBufferSize: UInt32 = 16 * 1024

    /// The defaults.
    public init() {}
}
