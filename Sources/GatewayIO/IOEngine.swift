/// What an I/O engine does for its event loop, and what it must not do.
///
/// **The split.** An engine turns requests into kernel operations and kernel results into
/// `Completion`s; the loop alone decides what a completion means for a connection and calls
/// handlers. Concretely:
/// - `wait` submits what was queued, blocks until something finished (or the timeout passed), and
///   writes completions into the loop's buffer. It never calls into the loop, a handler or a timer,
///   so no handler ever runs inside another handler's request (TigerBeetle's rule: "to avoid
///   recursion, unbounded stack usage, and confusing stack traces").
/// - Every other method (submissions, cancellations, readiness I/O) may be called on the loop thread
///   at any time except during `wait`, including from inside handlers. They queue work or do one
///   non-blocking system call and return what happened; they never call back either.
/// - When the kernel's submission queue is full, a submission is parked on a FIFO and submitted by
///   the next `wait`, in order. It is never completed early and never makes the engine reap.
///
/// **Who owns what.** The loop owns connections (`TCPConnection`: descriptor, close state, send
/// queue, read pause, EOF), listeners, watches, the completion buffer and the buffer pool. The
/// engine owns its kernel objects and its per-socket bookkeeping (what is armed or in flight, what
/// epoll interest is registered), kept in its own tables indexed by the connection's slot and reset
/// by `open`. Engines read a connection's state; they do not change it.
///
/// **Two models.** Completion engines (io_uring, the test fake) report `.recv`, `.send`,
/// `.sendPoll`, `.accept`, `.connect` and `.watch`. The readiness engine (epoll) reports
/// `.connection`, `.acceptReady` and `.watch`, and the loop then calls `read`/`accept`/`flush`, which
/// perform the system call. An engine implements the other model's methods as no-ops.
///
/// The run-time choice is the `Engine` enum, which forwards with one `switch`; the loop's tick is
/// generic over the concrete engine, so the hot path calls engines directly, never through a
/// protocol witness.
package protocol IOEngine {
    // MARK: Waiting

    /// Submits everything queued (parked work first), then waits for at least one completion or
    /// `timeoutNanos`, and copies up to `buffer.count` completions into `buffer`.
    /// - Returns: the number of completions written (0 after a timeout or interruption).
    /// Never calls the loop. Kernel errors that only mean "try again" (EINTR, EBUSY, EAGAIN, ETIME)
    /// return 0; unacceptable ones trap.
    func wait(timeoutNanos: UInt64, into buffer: UnsafeMutableBufferPointer<Completion>) -> Int

    /// Makes a `wait` in progress (or the next one) return. The one method that may be called from
    /// any thread.
    func wake()

    /// Releases every kernel object and buffer. Called once, on the loop thread, after the last `wait`.
    func teardown()

    /// Whether sockets this engine drives must be non-blocking (epoll), or blocking (io_uring, which
    /// completes operations on non-blocking files with EAGAIN instead of waiting).
    var usesNonBlockingSockets: Bool { get }

    // MARK: Listeners

    /// Starts accepting on `fd` (listener `id`). Also used to resume after descriptor exhaustion.
    func addListener(fd: Int32, id: Int) throws(IOError)

    /// Stops accepting on `fd`; the loop closes it afterwards.
    func removeListener(fd: Int32, id: Int)

    /// Readiness model: accepts one pending connection on `fd`.
    func accept(_ fd: Int32) -> AcceptOutcome

    // MARK: Connections

    /// A connection took slot `c.slot` with generation `c.generation`: resets the engine's state for it.
    func open(_ c: TCPConnection)

    /// The connection should deliver received bytes (after accept or connect, and after a pause or
    /// an ENOBUFS): arms a receive (completion) or registers read interest (readiness). Does
    /// nothing while the connection is paused, at EOF, connecting or closing.
    func startReading(_ c: TCPConnection) throws(IOError)

    /// `c.readPaused`, `c.eof` or the close state changed: cancels or re-arms the receive, or
    /// updates the registered interest.
    func updateReading(_ c: TCPConnection) throws(IOError)

    /// Starts an outgoing connect of `c` (non-blocking). Failure to start throws.
    func startConnect(_ c: TCPConnection, to address: SocketAddress) throws(IOError)

    /// Readiness model: `c`'s outgoing connect finished (the socket became writable); the engine
    /// drops its write interest.
    func connectFinished(_ c: TCPConnection)

    /// Writes (readiness) or queues a send of (completion) `c`'s send queue. The loop has checked
    /// that `c` is open or flushing and not connecting. Bytes written synchronously are consumed from
    /// the queue (returning chunks to `pool`) and added to `sent`.
    func flush(_ c: TCPConnection, pool: inout BufferPool, sent: inout UInt64) -> FlushOutcome

    /// Completion model: a send returned EAGAIN; waits for the socket to become writable (a
    /// `.sendPoll` completion follows).
    func pollWritable(_ c: TCPConnection)

    /// Readiness model: whether a write-readiness event is one `c` waited for; clears that wait.
    func writableReady(_ c: TCPConnection) -> Bool

    /// Readiness model: reads once from `c` into the engine's receive buffer.
    func read(_ c: TCPConnection) -> ReadOutcome

    /// Completion model: the bytes of a `.recv` completion, or nil when it carries no buffer.
    func receivedBytes(_ completion: Completion) -> UnsafeMutableRawPointer?

    /// Completion model: hands the buffer of a `.recv` completion back to the kernel, after delivery.
    func recycleBuffer(_ completion: Completion)

    /// The connection is closing: cancels its operations (completion) or deregisters it (readiness).
    func cancelOperations(_ c: TCPConnection)

    /// Whether a kernel operation (including parked ones) still refers to `c`'s buffers or
    /// descriptor; the loop closes the descriptor only when none does.
    func hasOperationsInFlight(_ c: TCPConnection) -> Bool

    // MARK: Watches (libcurl's sockets; the engine does not own these descriptors)

    /// Starts watching `fd` as watch `id` with the given interest.
    func addWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool)

    /// Changes a watch's interest; `generation` is the watch's new generation.
    func modifyWatch(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool)

    /// Stops watching.
    func removeWatch(id: Int, fd: Int32)

    /// A `.watch` completion was delivered and the watch is still interested: one-shot engines poll
    /// again (level-triggered semantics), others do nothing.
    func watchDelivered(id: Int, fd: Int32, generation: UInt32, readable: Bool, writable: Bool)
}

/// What `IOEngine.flush` did.
package enum FlushOutcome: Equatable, Sendable {
    /// The send queue is empty: nothing was waiting or everything was written.
    case drained
    /// Bytes remain and a completion or readiness event will continue the flush.
    case pending
    /// The socket failed; the loop aborts the connection with `operation` and `errno`.
    case failed(operation: StaticString, errno: Int32)

    package static func == (a: FlushOutcome, b: FlushOutcome) -> Bool {
        switch (a, b) {
        case (.drained, .drained), (.pending, .pending): true
        case (.failed(_, let x), .failed(_, let y)): x == y
        default: false
        }
    }
}

/// What `IOEngine.read` did.
package enum ReadOutcome {
    /// Bytes arrived in the engine's buffer; `filled` says the buffer is full, so more may be waiting.
    case bytes(UnsafeMutableRawBufferPointer, filled: Bool)
    /// The peer closed its side.
    case endOfFile
    /// Nothing to read now.
    case wouldBlock
    /// The read failed with `errno`.
    case failed(errno: Int32)
}

/// What `IOEngine.accept` did.
package enum AcceptOutcome: Sendable {
    /// A new connection's descriptor.
    case accepted(Int32)
    /// A connection went away before it was accepted (ECONNABORTED and friends); try the next one.
    case retry
    /// No connection is waiting.
    case wouldBlock
    /// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): pause accepting for a moment.
    case exhausted
    /// Another error; stop for this readiness event.
    case failed(errno: Int32)
}
