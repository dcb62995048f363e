internal import CGatewayShims
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// N event loops, one thread each. Loops are created on their own threads (an io_uring with
/// `SINGLE_ISSUER` belongs to the thread that sets it up) and run until `stop()`.
public final class EventLoopGroup: Sendable {
    /// The loops, in index order. Filled by `start`.
    public let loops: [EventLoop]
    private let threads: Locked<[pthread_t]>

    /// Starts `count` loops on `engine` (`auto` must be resolved first, see `IOEngineProbe`).
    /// `setUp` runs on each loop's thread before its first tick; use it to create per-loop state
    /// (listeners, clients). The group starts only if every loop's engine and every `setUp`
    /// succeeded; otherwise no loop runs, every thread is joined, each loop's descriptors are closed,
    /// and the first failure is thrown.
    public init<Failure: Error>(
        count: Int, engine: IOEngineKind, options: EventLoopOptions = .init(),
        setUp: @escaping @Sendable (EventLoop) throws(Failure) -> Void
    ) throws(EventLoopGroupError) {
        precondition(engine != .auto, "resolve .auto with IOEngineProbe before starting loops")
        let startup = LoopStartup(count: count)
        var threads: [pthread_t] = []
        for i in 0..<count {
            let box = Unmanaged.passRetained(ThreadContext {
                let loop: EventLoop
                do throws(IOError) {
                    loop = try EventLoop(index: i, engineKind: engine, options: options)
                } catch {
                    startup.report(index: i, result: .failure(.engine(loop: i, error)))
                    return
                }
                do throws(Failure) {
                    try setUp(loop)
                } catch {
                    startup.report(index: i, result: .failure(.setUp(loop: i, error)))
                    loop.shutdown()
                    return
                }
                startup.report(index: i, result: .success(loop))
                startup.waitForAll()
                guard startup.allStarted else {
                    loop.shutdown()
                    return
                }
                loop.run()
            })
            var tid = pthread_t()
            let r = pthread_create(&tid, nil, { arg in
                guard let arg else { return nil }
                let ctx = Unmanaged<ThreadContext>.fromOpaque(arg).takeRetainedValue()
                ctx.body()
                return nil
            }, box.toOpaque())
            if r != 0 {
                box.release()
                startup.report(index: i, result: .failure(.engine(loop: i, IOError("pthread_create", errno: r))))
                continue
            }
            threads.append(tid)
        }
        let result = startup.results()
        switch result {
        case .success(let loops):
            self.loops = loops
            self.threads = Locked(threads)
        case .failure(let error):
            for t in threads { pthread_join(t, nil) }
            throw error
        }
    }

    /// Asks every loop to stop after its current tick.
    public func stop() {
        for l in loops { l.stop() }
    }

    /// Blocks until every loop thread has returned.
    public func join() {
        let ts = threads.withLock { t -> [pthread_t] in
            let copy = t
            t.removeAll()
            return copy
        }
        for t in ts { pthread_join(t, nil) }
    }
}

private final class ThreadContext {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Collects each loop's start result so the group can fail as a whole if one engine cannot start.
private final class LoopStartup: Sendable {
    private struct State {
        var loops: [EventLoop?]
        var error: EventLoopGroupError?
        var reported = 0
    }
    private let state: Locked<State>
    private let count: Int

    init(count: Int) {
        self.count = count
        state = Locked(State(loops: Array(repeating: nil, count: count)))
    }

    func report(index: Int, result: Result<EventLoop, EventLoopGroupError>) {
        state.withLock { s in
            switch result {
            case .success(let l): s.loops[index] = l
            case .failure(let e): if s.error == nil { s.error = e }
            }
            s.reported += 1
        }
    }

    /// Spins (briefly: creating an engine and running `setUp` take milliseconds at most) until every
    /// thread reported.
    func waitForAll() {
        while state.withLock({ $0.reported < count }) { usleep(200) }
    }

    var allStarted: Bool { state.withLock { $0.error == nil } }

    func results() -> Result<[EventLoop], EventLoopGroupError> {
        waitForAll()
        return state.withLock { s in
            if let e = s.error { return .failure(e) }
            return .success(s.loops.compactMap { $0 })
        }
    }
}
