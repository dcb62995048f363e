internal import GatewayIO
internal import Synchronization

/// The loops of one gateway process, reachable from any loop: hands deliveries to the loops that may
/// hold recipients and runs per-connection operations on the connection's own loop.
final class GatewayHub: @unchecked Sendable {
    // @unchecked: `contexts` is behind its lock; a context itself is only used on its own loop's
    // thread (every access goes through that loop's `execute`, or happens on it).
    private let contexts: Locked<[LoopContext?]>
    /// Connection counts across loops, for `maxConnections` and `maxConnectionsPerIP`.
    let admission: Admission
    /// The other nodes, in a cluster; nil for a single node. Set once before the loops start.
    private(set) var cluster: (any ClusterLink)?

    init(loopCount: Int) {
        contexts = Locked(Array(repeating: nil, count: loopCount))
        admission = Admission()
    }

    var loopCount: Int { contexts.withLock { $0.count } }

    /// Joins a cluster: deliveries from now on also go to the other nodes. Call before the loops
    /// accept connections.
    func attach(_ link: any ClusterLink) { cluster = link }

    func register(_ c: LoopContext) { contexts.withLock { $0[c.loop.index] = c } }

    /// Drops every context once the loops have stopped (contexts refer to the hub, so this breaks
    /// the cycle and lets everything be freed: leak checkers see a clean exit).
    func clear() { contexts.withLock { for i in $0.indices { $0[i] = nil } } }
    func context(_ i: Int) -> LoopContext? { contexts.withLock { i < $0.count ? $0[i] : nil } }

    /// Runs `body` with loop `i`'s context on that loop's thread.
    func onLoop(_ i: Int, _ body: @escaping @Sendable (LoopContext) -> Void) {
        guard let loop = context(i)?.loop else { return }
        loop.execute { [self] in
            if let ctx = self.context(i) { body(ctx) }
        }
    }

    /// Delivers on every loop that may hold recipients. The origin loop's share is written at once
    /// (no hop); other loops get a task. `done`, if given, runs on the origin loop with the number of
    /// connections written to.
    func dispatch(_ d: Delivery, from origin: LoopContext, done: ((Int) -> Void)? = nil) {
        let targets = d.loops(count: loopCount)
        if targets.count == 1 && targets[0] == origin.loop.index || targets.isEmpty {
            let n = targets.isEmpty ? 0 : origin.sessions.deliver(d)
            done?(n)
            return
        }
        let tally = done.map { Tally(expected: targets.count, origin: origin.loop, done: $0) }
        for i in targets {
            if i == origin.loop.index {
                let n = origin.sessions.deliver(d)
                tally?.add(n)
            } else {
                let t = tally.map { SendableBox($0) }
                onLoop(i) { ctx in
                    let n = ctx.sessions.deliver(d)
                    t?.value.add(n)
                }
            }
        }
    }
}

/// Sums per-loop results and calls back on the origin loop once every loop reported.
final class Tally: @unchecked Sendable {
    // @unchecked: `state` is behind a lock; `done` is only called on `origin`'s thread.
    private let state: Locked<(remaining: Int, sum: Int)>
    private let origin: EventLoop
    private let done: (Int) -> Void

    init(expected: Int, origin: EventLoop, done: @escaping (Int) -> Void) {
        state = Locked((expected, 0))
        self.origin = origin
        self.done = done
    }

    func add(_ n: Int) {
        let finished: Int? = state.withLock { s in
            s.remaining -= 1
            s.sum += n
            return s.remaining == 0 ? s.sum : nil
        }
        guard let total = finished else { return }
        let cb = SendableBox(done)
        origin.execute { cb.value(total) }
    }
}

/// Carries a loop-confined value through a `@Sendable` closure to the loop that owns it.
struct SendableBox<T>: @unchecked Sendable {
    // @unchecked: used only to move a value to the single thread that will use it.
    let value: T
    init(_ value: T) { self.value = value }
}

extension GatewayHub {
    /// Runs `body` on every loop and calls `done` on `origin` with the results in loop order.
    func gather<T: Sendable>(
        from origin: EventLoop, _ body: @escaping @Sendable (LoopContext) -> T, done: @escaping ([T]) -> Void
    ) {
        let n = loopCount
        let results = Locked<[T?]>(Array(repeating: nil, count: n))
        let remaining = Locked(n)
        let cb = SendableBox(done)
        for i in 0..<n {
            let finish: @Sendable (T?) -> Void = { value in
                results.withLock { $0[i] = value }
                let last = remaining.withLock { r -> Bool in
                    r -= 1
                    return r == 0
                }
                if last {
                    let all = results.withLock { $0.compactMap { $0 } }
                    origin.execute { cb.value(all) }
                }
            }
            if context(i) == nil {
                finish(nil)
            } else {
                onLoop(i) { ctx in finish(body(ctx)) }
            }
        }
    }
}
