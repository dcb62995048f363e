internal import GatewayBuffers
internal import CGatewayShims
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// One event loop: one thread, one io_uring or epoll instance, the connections accepted on it, the
/// file descriptors it watches for libcurl, its timers and a queue for work sent from other threads.
///
/// The loop owns connections, listeners, watches and timers, and it alone turns completions into
/// handler calls (`EventLoop+Dispatch.swift`); the engine only submits and reaps (see `IOEngine`).
///
/// Everything except `execute`, `stop` and `index` is confined to the loop's thread.
public final class EventLoop: @unchecked Sendable {
    // @unchecked: all mutable state below is touched only on the loop thread, except `tasks`
    // (protected by its Mutex) and `stopRequested` (an Atomic).

    /// Position of this loop in its group (0-based).
    public let index: Int
    /// The engine this loop runs on (`auto` for an engine supplied by tests).
    public let engineKind: IOEngineKind
    /// How often deadlines (`TCPConnection.deadline`) are checked. 250 ms keeps timeouts accurate to
    /// a quarter second while costing one linear scan of the connection table four times a second.
    public static let sweepIntervalNanos: UInt64 = 250_000_000
    /// Sweeps without a write after which a connection's empty send queue frees its storage: 8, so
    /// 2 s. Long enough that a connection writing a few times a second keeps it (no malloc per
    /// message), short enough that idle connections hold none (issue 13).
    static let idleSweepsBeforeTrim: UInt8 = 8

    let engine: Engine
    var connections: [TCPConnection?] = []
    var freeSlots: [UInt32] = []
    var generations: [UInt32] = []
    var dirty: [TCPConnection] = []
    var pendingCloses: [TCPConnection] = []
    /// Connections whose multishot receive ended with ENOBUFS in this batch; re-armed after it, once
    /// the batch has handed its buffers back.
    var receiveBufferExhausted: [TCPConnection] = []
    var bufferPool = BufferPool()
    var timers = TimerHeap()
    var listeners: [Listener?] = []
    var watches: [Watch] = []
    private var freeWatches: [Int] = []
    let completions = CompletionBuffer()

    private let tasks = Locked<[@Sendable () -> Void]>([])
    private var taskScratch: [@Sendable () -> Void] = []
    let stopRequested = Atomic<Bool>(false)
    private var nextSweep: UInt64 = 0
    /// The loop's clock (CLOCK_MONOTONIC, nanoseconds), refreshed when the engine returns from waiting
    /// (before events are dispatched) and again before timers run.
    public internal(set) var now: UInt64 = Syscall.monotonicNanos()
    /// Number of open connections on this loop.
    public internal(set) var connectionCount = 0
    /// Bytes received from and written to connections on this loop since start.
    public internal(set) var bytesReceived: UInt64 = 0
    /// Bytes written to connections on this loop since start.
    public internal(set) var bytesSent: UInt64 = 0
    /// TLS handshakes completed on this loop since start (resumed ones included).
    public internal(set) var tlsHandshakes: UInt64 = 0
    /// TLS handshakes that resumed a session (a ticket) instead of a full key exchange, since start.
    public internal(set) var tlsResumedHandshakes: UInt64 = 0
    /// TLS handshakes that failed (bad version, no shared cipher, garbage), since start.
    public internal(set) var tlsHandshakeFailures: UInt64 = 0
    /// Where decrypted records land before the handler sees them; allocated by the first TLS read.
    var tlsPlaintextScratch: UnsafeMutableRawBufferPointer?
    /// Receives re-armed because every provided buffer was in use (io_uring ENOBUFS), since start.
    package internal(set) var receiveRearms = 0
    /// Operations the engine parked because its submission queue was full, since start.
    package var parkedSubmissions: Int {
        if case .uring(let e) = engine { return e.parkedTotal }
        return 0
    }

    /// A descriptor watched for libcurl.
    struct Watch {
        var fd: Int32 = -1
        var generation: UInt32 = 0
        var readable = false
        var writable = false
        var active = false
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
    }

    /// A loop on an engine supplied by the caller (tests: `GatewayTestSupport.FakeEngine`). Drive it
    /// with `runOnce()` on one thread.
    package init(index: Int = 0, engine: any IOEngine) {
        self.index = index
        self.engineKind = .auto
        self.engine = .custom(engine)
    }

    // MARK: Public API (loop thread)

    /// Creates a timer whose callback runs on this loop.
    public func makeTimer(_ callback: @escaping () -> Void) -> LoopTimer {
        LoopTimer(loop: self, callback: callback)
    }

    /// Starts accepting on a listening socket; `handler` receives each connection. With `tls`, every
    /// connection is a TLS server connection: the handler sees only plaintext, after the handshake.
    /// - Returns: an id for `removeListener`.
    /// - Throws: when the engine cannot watch the socket (the socket is closed then).
    @discardableResult
    public func addListener(_ socket: ListeningSocket, handler: any AcceptHandler, tls: TLSServerContext? = nil) throws(IOError) -> Int {
        let id = listeners.count
        let l = Listener(fd: socket.takeDescriptor(), handler: handler, id: id, loop: self, tls: tls)
        listeners.append(l)
        do {
            try engine.addListener(fd: l.fd, id: id)
        } catch {
            listeners[id] = nil
            l.closed = true
            Syscall.close(l.fd)
            throw error
        }
        return id
    }

    /// Stops accepting on a listener and closes its socket.
    public func removeListener(_ id: Int) {
        guard id < listeners.count, let l = listeners[id] else { return }
        listeners[id] = nil
        l.closed = true
        l.retryTimer?.cancel()
        engine.removeListener(fd: l.fd, id: id)
        Syscall.close(l.fd)
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
        watches[i].token = token
        watches[i].watcher = watcher
        engine.addWatch(id: i, fd: fd, generation: watches[i].generation, readable: readable, writable: writable)
        return i
    }

    /// Changes the interest of a watch. The watch gets a new generation, so a readiness event
    /// already reaped for the old interest is dropped.
    public func updateWatch(_ id: Int, readable: Bool, writable: Bool) {
        guard id >= 0, id < watches.count, watches[id].active else { return }
        if watches[id].readable == readable && watches[id].writable == writable { return }
        watches[id].readable = readable
        watches[id].writable = writable
        watches[id].generation &+= 1
        engine.modifyWatch(id: id, fd: watches[id].fd, generation: watches[id].generation, readable: readable, writable: writable)
    }

    /// Stops watching. The descriptor itself is not closed (its owner closes it).
    public func unwatch(_ id: Int) {
        guard id >= 0, id < watches.count, watches[id].active else { return }
        engine.removeWatch(id: id, fd: watches[id].fd)
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
        if wasEmpty { engine.wake() }
    }

    /// Asks the loop to return from `run()` at the end of the current tick. Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        engine.wake()
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`, then closes everything it owns.
    func run() {
        nextSweep = Syscall.monotonicNanos() &+ Self.sweepIntervalNanos
        // One switch for the loop's lifetime: `run(_:)` is specialised per engine, so every engine
        // call in the tick is a direct (inlinable) call.
        switch engine {
        case .uring(let e): run(e)
        case .epoll(let e): run(e)
        case .custom(let e): run(e)
        }
        shutdown()
    }

    private func run<E: IOEngine>(_ e: E) {
        while !stopRequested.load(ordering: .acquiring) {
            tick(e)
        }
    }

    /// Runs one tick on the calling thread (tests drive a loop on a fake engine this way).
    package func runOnce() {
        switch engine {
        case .uring(let e): tick(e)
        case .epoll(let e): tick(e)
        case .custom(let e): tick(e)
        }
    }

    /// Closes every connection and listener and releases the engine (tests call it after `runOnce`).
    package func shutdown() {
        for case let c? in connections where c.closeState != .closed {
            c.closeState = .closed
            Syscall.close(c.fd)
            c.outbound.removeAll(pool: &bufferPool)
            detachTLS(c)
            c.handler?.connectionDidClose(c, error: nil)
            c.handler = nil
        }
        connections.removeAll()
        for case let l? in listeners { Syscall.close(l.fd) }
        listeners.removeAll()
        engine.teardown()
        completions.deallocate()
        tlsPlaintextScratch?.deallocate()
        tlsPlaintextScratch = nil
    }

    private func tick<E: IOEngine>(_ e: E) {
        flushDirty(e)
        processPendingCloses(e)
        now = Syscall.monotonicNanos()
        var timeout: UInt64 = Self.sweepIntervalNanos
        if let d = timers.nextDeadline { timeout = d > now ? min(timeout, d - now) : 0 }
        if nextSweep > now { timeout = min(timeout, nextSweep - now) } else { timeout = 0 }
        if !dirty.isEmpty || !pendingCloses.isEmpty || tasks.withLock({ !$0.isEmpty }) { timeout = 0 }
        let n = e.wait(timeoutNanos: timeout, into: completions.storage)
        now = Syscall.monotonicNanos()
        dispatch(e, count: n)
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
                c.trimIfIdle(after: Self.idleSweepsBeforeTrim)
            case .flushing, .lingering:
                if now >= c.lingerDeadline { beginClose(engine, c) }
            case .closing, .closed:
                break
            }
        }
    }

    private func flushDirty<E: IOEngine>(_ e: E) {
        guard !dirty.isEmpty else { return }
        // Handlers may mark more connections dirty while we flush (e.g. a drain callback replies).
        var i = 0
        while i < dirty.count {
            let c = dirty[i]
            c.isDirty = false
            flush(e, c)
            i += 1
        }
        // Emptied from the end, each element released inline: `removeAll(keepingCapacity:)` goes
        // through a generic range replacement and an array destroy (~90 instructions per flushed
        // connection in callgrind at a few connections per tick).
        while !dirty.isEmpty { dirty.removeLast() }
    }
}
