/// The engine a loop runs on, chosen at run time. One enum rather than `any IOEngine`, so that
/// every call is a `switch` over three known classes that the compiler can inline; the loop's tick
/// goes further and runs generic over the concrete engine (`EventLoop.run`), switching once.
enum Engine {
    case uring(URingEngine)
    case epoll(EpollEngine)
    /// An engine supplied by tests (`GatewayTestSupport.FakeEngine`); never used by the gateway.
    case custom(any IOEngine)
}

extension Engine: IOEngine {
    func wait(timeoutNanos: UInt64, into buffer: UnsafeMutableBufferPointer<Completion>) -> Int {
        switch self {
        case .uring(let e): e.wait(timeoutNanos: timeoutNanos, into: buffer)
        case .epoll(let e): e.wait(timeoutNanos: timeoutNanos, into: buffer)
        case .custom(let e): e.wait(timeoutNanos: timeoutNanos, into: buffer)
        }
    }

    func wake() {
        switch self {
        case .uring(let e): e.wake()
        case .epoll(let e): e.wake()
        case .custom(let e): e.wake()
        }
    }

    func teardown() {
        switch self {
        case .uring(let e): e.teardown()
        case .epoll(let e): e.teardown()
        case .custom(let e): e.teardown()
        }
    }

    var usesNonBlockingSockets: Bool {
        switch self {
        case .uring(let e): e.usesNonBlockingSockets
        case .epoll(let e): e.usesNonBlockingSockets
        case .custom(let e): e.usesNonBlockingSockets
        }
    }

    func addListener(fd: Int32, id: Int) throws(IOError) {
        switch self {
        case .uring(let e): try e.addListener(fd: fd, id: id)
        case .epoll(let e): try e.addListener(fd: fd, id: id)
        case .custom(let e): try e.addListener(fd: fd, id: id)
        }
    }

    func removeListener(fd: Int32, id: Int) {
        switch self {
        case .uring(let e): e.removeListener(fd: fd, id: id)
        case .epoll(let e): e.removeListener(fd: fd, id: id)
        case .custom(let e): e.removeListener(fd: fd, id: id)
        }
    }

    func accept(_ fd: Int32) -> AcceptOutcome {
        switch self {
        case .uring(let e): e.accept(fd)
        case .epoll(let e): e.accept(fd)
        case .custom(let e): e.accept(fd)
        }
    }

    func open(_ c: TCPConnection) {
        switch self {
        case .uring(let e): e.open(c)
        case .epoll(let e): e.open(c)
        case .custom(let e): e.open(c)
        }
    }

    func startReading(_ c: TCPConnection) throws(IOError) {
        switch self {
        case .uring(let e): e.startReading(c)
        case .epoll(let e): try e.startReading(c)
        case .custom(let e): try e.startReading(c)
        }
    }

    func updateReading(_ c: TCPConnection) throws(IOError) {
        switch self {
        case .uring(let e): e.updateReading(c)
        case .epoll(let e): try e.updateReading(c)
        case .custom(let e): try e.updateReading(c)
        }
    }

    func startConnect(_ c: TCPConnection, to address: SocketAddress) throws(IOError) {
        switch self {
        case .uring(let e): e.startConnect(c, to: address)
        case .epoll(let e): try e.startConnect(c, to: address)
        case .custom(let e): try e.startConnect(c, to: address)
        }
    }

    func connectFinished(_ c: TCPConnection) {
        switch self {
        case .uring(let e): e.connectFinished(c)
        case .epoll(let e): e.connectFinished(c)
        case .custom(let e): e.connectFinished(c)
        }
    }

    func flush(_ c: TCPConnection, pool: inout BufferPool, sent: inout UInt64) -> FlushOutcome {
        switch self {
        case .uring(let e): e.flush(c, pool: &pool, sent: &sent)
        case .epoll(let e): e.flush(c, pool: &pool, sent: &sent)
        case .custom(let e): e.flush(c, pool: &pool, sent: &sent)
        }
    }

    func pollWritable(_ c: TCPConnection) {
        switch self {
        case .uring(let e): e.pollWritable(c)
        case .epoll(let e): e.pollWritable(c)
        case .custom(let e): e.pollWritable(c)
        }
    }

    func writableReady(_ c: TCPConnection) -> Bool {
        switch self {
        case .uring(let e): e.writableReady(c)
        case .epoll(let e): e.writableReady(c)
        case .custom(let e): e.writableReady(c)
        }
    }

    func read(_ c: TCPConnection) -> ReadOutcome {
        switch self {
        case .uring(let e): e.read(c)
        case .epoll(let e): e.read(c)
        case .custom(let e): e.read(c)
        }
    }

    func receivedBytes(_ completion: Completion) -> UnsafeMutableRawPointer? {
        switch self {
        case .uring(let e): e.receivedBytes(completion)
        case .epoll(let e): e.receivedBytes(completion)
        case .custom(let e): e.receivedBytes(completion)
        }
    }

    func recycleBuffer(_ completion: Completion) {
        switch self {
        case .uring(let e): e.recycleBuffer(completion)
        case .epoll(let e): e.recycleBuffer(completion)
        case .custom(let e): e.recycleBuffer(completion)
        }
    }

    func cancelOperations(_ c: TCPConnection) {
        switch self {
        case .uring(let e): e.cancelOperations(c)
        case .epoll(let e): e.cancelOperations(c)
        case .custom(let e): e.cancelOperations(c)
        }
    }

    func hasOperationsInFlight(_ c: TCPConnection) -> Bool {
        switch self {
        case .uring(let e): e.hasOperationsInFlight(c)
        case .epoll(let e): e.hasOperationsInFlight(c)
        case .custom(let e): e.hasOperationsInFlight(c)
        }
    }

    func addWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        switch self {
        case .uring(let e): e.addWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .epoll(let e): e.addWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .custom(let e): e.addWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        }
    }

    func modifyWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        switch self {
        case .uring(let e): e.modifyWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .epoll(let e): e.modifyWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .custom(let e): e.modifyWatch(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        }
    }

    func removeWatch(id: Int, fd: Int32) {
        switch self {
        case .uring(let e): e.removeWatch(id: id, fd: fd)
        case .epoll(let e): e.removeWatch(id: id, fd: fd)
        case .custom(let e): e.removeWatch(id: id, fd: fd)
        }
    }

    func watchDelivered(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool) {
        switch self {
        case .uring(let e): e.watchDelivered(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .epoll(let e): e.watchDelivered(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        case .custom(let e): e.watchDelivered(id: id, fd: fd, generation: generation, readable: readable, writable: writable)
        }
    }
}
