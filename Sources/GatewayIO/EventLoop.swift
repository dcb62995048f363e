internal import GatewayBuffers
internal import CGatewayShims
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// One event loop: one thread, one io_uring or epoll instance, the connections accepted on it, the
/// file descriptors it watches for libcurl, its timers and a queue for work sent from other threads.
///
/// Everything except `execute`, `stop` and `index` is confined to the loop's thread.
public final class EventLoop: @unchecked Sendable {
    // @unchecked: all mutable state below is touched only on the loop thread, except `tasks`
    // (protected by its Mutex) and `stopRequested` (an Atomic).

    /// Position of this loop in its group (0-based).
    public let index: Int
    /// The engine this loop runs on.
    public let engineKind: IOEngineKind
    /// How often deadlines (`TCPConnection.deadline`) are checked. 250 ms keeps timeouts accurate to
    /// a quarter second while costing one linear scan of the connection table four times a second.
    public static let sweepIntervalNanos: UInt64 = 250_000_000

    var engine: Engine!
    var connections: [TCPConnection?] = []
    private var freeSlots: [UInt32] = []
    private var generations: [UInt32] = []
    var dirty: [TCPConnection] = []
    private var pendingCloses: [TCPConnection] = []
    var bufferPool = BufferPool()
    var timers = TimerHeap()
    var listeners: [Listener?] = []
    var watches: [Watch] = []
    private var freeWatches: [Int] = []

    private let tasks = Locked<[@Sendable () -> Void]>([])
    private var taskScratch: [@Sendable () -> Void] = []
    let stopRequested = Atomic<Bool>(false)
    private var nextSweep: UInt64 = 0
    /// The loop's clock (CLOCK_MONOTONIC, nanoseconds), refreshed when the engine returns from waiting
    /// (before events are dispatched) and again before timers run.
    public internal(set) var now: UInt64 = Syscall.monotonicNanos()
    /// Number of open connections on this loop.
    public private(set) var connectionCount = 0
    /// Bytes received from and written to connections on this loop since start.
    public internal(set) var bytesReceived: UInt64 = 0
    /// Bytes written to connections on this loop since start.
    public internal(set) var bytesSent: UInt64 = 0

    enum Engine {
        case uring(URingEngine)
        case epoll(EpollEngine)
    }

    struct Watch {
        var fd: Int32 = -1
        var generation: UInt32 = 0
        var readable = false
        var writable = false
        var active = false
        var armed = false  // io_uring: a poll is in flight
        var token = 0
        var watcher: (any FDWatcher)?
    }

    init(index: Int, engineKind: IOEngineKind, options: EventLoopOptions) throws(IOError) {
        self.index = index
        self.engineKind = engineKind
        switch engineKind {
        case .ioUring:
            engine = .uring(try URingEngine(options: options))
        case .epoll, .auto:
            engine = .epoll(try EpollEngine())
        }
        switch engine! {
        case .uring(let e): e.attach(self)
        case .epoll(let e): e.attach(self)
        }
    }

    // MARK: Public API (loop thread)

    /// Creates a timer whose callback runs on this loop.
    public func makeTimer(_ callback: @escaping () -> Void) -> LoopTimer {
        LoopTimer(loop: self, callback: callback)
    }

    /// Starts accepting on a listening socket; `handler` receives each connection.
    /// - Returns: an id for `removeListener`.
    @discardableResult
    public func addListener(_ socket: ListeningSocket, handler: any AcceptHandler) -> Int {
        let id = listeners.count
        let l = Listener(fd: socket.takeDescriptor(), handler: handler, id: id, loop: self)
        listeners.append(l)
        switch engine! {
        case .uring(let e): e.armAccept(l)
        case .epoll(let e): e.addListener(l)
        }
        return id
    }

    /// Stops accepting on a listener and closes its socket.
    public func removeListener(_ id: Int) {
        guard id < listeners.count, let l = listeners[id] else { return }
        listeners[id] = nil
        l.closed = true
        l.retryTimer?.cancel()
        switch engine! {
        case .uring(let e): e.removeListener(l)
        case .epoll(let e): e.removeListener(l)
        }
    }

    /// Calls `body` for every open connection.
    public func forEachConnection(_ body: (TCPConnection) -> Void) {
        for case let c? in connections where c.closeState != .closed { body(c) }
    }

    /// Watches `fd` for readiness (libcurl's sockets). Returns a token for `updateWatch`/`unwatch`.
    public func watch(fd: Int32, readable: Bool, writable: Bool, token: Int, watcher: any FDWatcher) -> Int {
        let i: Int
        if let f = freeWatches.popLast() { i = f } else { i = watches.count; watches.append(Watch()) }
        watches[i].fd = fd
        watches[i].generation &+= 1
        watches[i].readable = readable
        watches[i].writable = writable
        watches[i].active = true
        watches[i].armed = false
        watches[i].token = token
        watches[i].watcher = watcher
        switch engine! {
        case .uring(let e): e.armWatch(i)
        case .epoll(let e): e.addWatch(i)
        }
        return i
    }

    /// Changes the interest of a watch.
    public func updateWatch(_ id: Int, readable: Bool, writable: Bool) {
        guard id >= 0, id < watches.count, watches[id].active else { return }
        if watches[id].readable == readable && watches[id].writable == writable { return }
        watches[id].readable = readable
        watches[id].writable = writable
        switch engine! {
        case .uring(let e): e.rearmWatch(id)
        case .epoll(let e): e.modifyWatch(id)
        }
    }

    /// Stops watching. The descriptor itself is not closed (its owner closes it).
    public func unwatch(_ id: Int) {
        guard id >= 0, id < watches.count, watches[id].active else { return }
        switch engine! {
        case .uring(let e): e.cancelWatch(id)
        case .epoll(let e): e.removeWatch(id)
        }
        watches[id].active = false
        watches[id].watcher = nil
        watches[id].generation &+= 1
        freeWatches.append(id)
    }

    /// Runs `task` on this loop's thread. Safe to call from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wasEmpty = tasks.withLock { q -> Bool in
            q.append(task)
            return q.count == 1
        }
        if wasEmpty { wake() }
    }

    /// Asks the loop to return from `run()` at the end of the current tick. Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`.
    func run() {
        nextSweep = Syscall.monotonicNanos() &+ Self.sweepIntervalNanos
        while !stopRequested.load(ordering: .acquiring) {
            tick()
        }
        shutdownEngine()
    }

    private func tick() {
        flushDirty()
        processPendingCloses()
        now = Syscall.monotonicNanos()
        var timeout: UInt64 = Self.sweepIntervalNanos
        if let d = timers.nextDeadline { timeout = d > now ? min(timeout, d - now) : 0 }
        if nextSweep > now { timeout = min(timeout, nextSweep - now) } else { timeout = 0 }
        if !dirty.isEmpty || !pendingCloses.isEmpty || tasks.withLock({ !$0.isEmpty }) { timeout = 0 }
        switch engine! {
        case .uring(let e): e.wait(timeoutNanos: timeout)
        case .epoll(let e): e.wait(timeoutNanos: timeout)
        }
        now = Syscall.monotonicNanos()
        while let t = timers.popExpired(now: now) { t.callback() }
        runTasks()
        if now >= nextSweep {
            nextSweep = now &+ Self.sweepIntervalNanos
            sweep()
        }
    }

    private func runTasks() {
        tasks.withLock { q in
            if q.isEmpty { return }
            swap(&q, &taskScratch)
        }
        if taskScratch.isEmpty { return }
        for t in taskScratch { t() }
        taskScratch.removeAll(keepingCapacity: true)
    }

    private func sweep() {
        for case let c? in connections {
            switch c.closeState {
            case .open:
                if c.deadline != 0 && now >= c.deadline {
                    c.deadline = 0
                    c.handler?.connectionDidTimeOut(c)
                }
            case .flushing, .lingering:
                if now >= c.lingerDeadline { beginClose(c) }
            case .closing, .closed:
                break
            }
        }
    }

    private func wake() {
        switch engine! {
        case .uring(let e): e.wake()
        case .epoll(let e): e.wake()
        }
    }

    private func shutdownEngine() {
        for case let c? in connections where c.closeState != .closed {
            c.closeState = .closed
            close(c.fd)
            c.outbound.removeAll(pool: &bufferPool)
            c.handler?.connectionDidClose(c, error: nil)
            c.handler = nil
        }
        connections.removeAll()
        for case let l? in listeners { close(l.fd) }
        listeners.removeAll()
        switch engine! {
        case .uring(let e): e.teardown()
        case .epoll(let e): e.teardown()
        }
    }

    // MARK: Connections (engine callbacks)

    /// Opens an outgoing TCP connection (load generators, tests). `handler` gets
    /// `connectionDidConnect` when it is established, or `connectionDidClose` with the error.
    /// - Throws: when no socket can be created (e.g. `EMFILE`: out of file descriptors).
    @discardableResult
    public func connect(to address: SocketAddress, handler: any ConnectionHandler) throws(IOError) -> TCPConnection {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if case .epoll = engine! { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(address.family, type, 0)
        guard fd >= 0 else {
            throw IOError("socket", errno: errno)
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let c = register(fd: fd, peer: address)
        c.handler = handler
        c.connecting = true
        switch engine! {
        case .uring(let e): e.startConnect(c, to: address)
        case .epoll(let e): e.startConnect(c, to: address)
        }
        return c
    }

    /// An outgoing connect finished successfully.
    func connected(_ c: TCPConnection) {
        c.connecting = false
        c.handler?.connectionDidConnect(c)
        if c.closeState == .open {
            switch engine! {
            case .uring(let e): e.startReading(c)
            case .epoll(let e): e.updateInterest(c)
            }
            if !c.outbound.isEmpty { c.markDirty() }
        }
    }

    /// Unsent bytes the kernel may hold per socket. Without a cap the send buffer autotunes to
    /// megabytes, which hides a client that stopped reading from `sendQueueBytes`: the kernel
    /// swallows the backlog. 128 KiB keeps throughput on fast links and bounds what hides there.
    public static let notSentLowWater: Int32 = 128 * 1024

    private func register(fd: Int32, peer: SocketAddress?) -> TCPConnection {
        var lowat = Self.notSentLowWater
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, &lowat, socklen_t(MemoryLayout<Int32>.size))
        let slot: UInt32
        if let s = freeSlots.popLast() {
            slot = s
        } else {
            slot = UInt32(connections.count)
            connections.append(nil)
            generations.append(0)
        }
        generations[Int(slot)] = (generations[Int(slot)] &+ 1) & 0xFF_FFFF
        let c = TCPConnection(fd: fd, loop: self, slot: slot, generation: generations[Int(slot)], remoteAddress: peer)
        connections[Int(slot)] = c
        connectionCount += 1
        return c
    }

    func acceptedDescriptor(_ fd: Int32, listener: Listener) {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let peer: SocketAddress? = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                getpeername(fd, sa, &len) == 0 ? SocketAddress(storage: p) : nil
            }
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let c = register(fd: fd, peer: peer)
        listener.handler.accepted(c)
        if c.handler == nil && c.closeState == .open {
            c.abort()
            return
        }
        if c.closeState == .open || c.closeState == .flushing {
            switch engine! {
            case .uring(let e): e.startReading(c)
            case .epoll(let e): e.register(c)
            }
        }
    }

    /// Looks up a live connection from a completion's user data.
    @inline(__always)
    func connection(for ud: UserData) -> TCPConnection? {
        let s = Int(ud.slot)
        guard s < connections.count, let c = connections[s], c.generation == ud.generation else { return nil }
        return c
    }

    @inline(__always)
    func deliver(_ c: TCPConnection, _ bytes: UnsafeMutableRawBufferPointer) {
        bytesReceived &+= UInt64(bytes.count)
        switch c.closeState {
        case .open, .flushing, .lingering:
            c.handler?.connectionDidReceive(c, bytes)
        case .closing, .closed:
            break
        }
    }

    func deliverEOF(_ c: TCPConnection, error: IOError?) {
        if c.eof { return }
        c.eof = true
        if let error, c.closeError == nil { c.closeError = error }
        switch c.closeState {
        case .open:
            c.handler?.connectionDidReachEOF(c)
        case .flushing:
            // The peer is gone; nothing more can be delivered.
            if error != nil { beginClose(c) }
        case .lingering:
            beginClose(c)
        case .closing, .closed:
            break
        }
    }

    /// Called by the engines when a connection's send queue became empty.
    func didDrain(_ c: TCPConnection) {
        if c.notifyWhenDrained && c.closeState == .open {
            c.notifyWhenDrained = false
            c.handler?.connectionDidDrain(c)
        }
        if c.closeState == .flushing {
            c.closeState = .lingering
            shutdown(c.fd, Int32(SHUT_WR))
            if c.eof { beginClose(c) }
        }
    }

    func engineUpdateReading(_ c: TCPConnection) {
        switch engine! {
        case .uring(let e): e.updateReading(c)
        case .epoll(let e): e.updateInterest(c)
        }
    }

    /// Starts closing `c` now: stops I/O and, once no kernel operation refers to it, closes the
    /// descriptor and tells the handler. The final step always runs after the current batch of events,
    /// never inside a handler call.
    func beginClose(_ c: TCPConnection) {
        switch c.closeState {
        case .closing, .closed: return
        default: break
        }
        c.closeState = .closing
        switch engine! {
        case .uring(let e): e.cancelOperations(c)
        case .epoll(let e): e.deregister(c)
        }
        pendingCloses.append(c)
    }

    /// io_uring: an operation of a closing connection completed; finish if it was the last one.
    func operationFinished(_ c: TCPConnection) {
        if c.closeState == .closing && !c.recvArmed && !c.sendInFlight && c.connectAddress == nil {
            pendingCloses.append(c)
        }
    }

    private func processPendingCloses() {
        while !pendingCloses.isEmpty {
            let batch = pendingCloses
            pendingCloses.removeAll(keepingCapacity: true)
            for c in batch where c.closeState == .closing && !c.recvArmed && !c.sendInFlight && c.connectAddress == nil {
                finishClose(c)
            }
        }
    }

    private func finishClose(_ c: TCPConnection) {
        c.closeState = .closed
        Glibc.close(c.fd)
        c.outbound.removeAll(pool: &bufferPool)
        let s = Int(c.slot)
        if s < connections.count, connections[s] === c {
            connections[s] = nil
            freeSlots.append(c.slot)
        }
        connectionCount -= 1
        let h = c.handler
        c.handler = nil
        h?.connectionDidClose(c, error: c.closeError)
    }

    private func flushDirty() {
        guard !dirty.isEmpty else { return }
        // Handlers may mark more connections dirty while we flush (e.g. a drain callback replies).
        var i = 0
        while i < dirty.count {
            let c = dirty[i]
            c.isDirty = false
            switch engine! {
            case .uring(let e): e.flush(c)
            case .epoll(let e): e.flush(c)
            }
            i += 1
        }
        dirty.removeAll(keepingCapacity: true)
    }

    func watchReady(_ ud: UserData, readable: Bool, writable: Bool, error: Bool) {
        let i = Int(ud.slot)
        guard i < watches.count, watches[i].active, watches[i].generation & 0xFF_FFFF == ud.generation,
              let w = watches[i].watcher else { return }
        w.fdReady(watches[i].fd, token: watches[i].token, readable: readable, writable: writable, error: error)
    }
}

/// Tuning for one event loop's engine.
public struct EventLoopOptions: Sendable {
    /// io_uring submission queue entries. 4096 lets one tick queue a send for thousands of
    /// connections without an intermediate submit; the completion queue is four times larger.
    public var ringEntries: UInt32 = 4096
    /// Provided receive buffers per loop (power of two). With 16 KiB buffers, 256 buffers pin 4 MiB per
    /// loop at most, shared by all connections on it, instead of a buffer per connection.
    public var receiveBufferCount: UInt32 = 256
    /// Size of each provided receive buffer (and of the epoll engine's shared read buffer).
    public var receiveBufferSize: UInt32 = 16 * 1024

    /// The defaults.
    public init() {}
}
