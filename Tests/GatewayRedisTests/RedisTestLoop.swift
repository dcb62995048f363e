import GatewayIO
import GatewayRedis
import GatewayTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One event loop for a Redis test: runs closures on the loop thread and waits for them, so the
/// loop-confined `RedisConnection` is only ever touched there.
final class RedisTestLoop: @unchecked Sendable {
    // @unchecked: `group` is immutable after init; everything else crosses threads through `Slot`.
    let group: EventLoopGroup
    var loop: EventLoop { group.loops[0] }

    init(engine: IOEngineKind) throws {
        group = try EventLoopGroup(count: 1, engine: engine) { _ in }
    }

    /// Runs `body` on the loop and returns its result.
    func sync<T>(_ body: @escaping () -> T) -> T {
        let slot = Slot<T>()
        let box = SendableBox(body)
        loop.execute { slot.set(box.value()) }
        while true {
            if let v = slot.take() { return v }
            usleep(500)
        }
    }

    /// Polls `condition` (on the loop) every 5 ms until it holds or `seconds` pass.
    @discardableResult
    func wait(seconds: Double = 10, _ condition: @escaping () -> Bool) -> Bool {
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while monotonicNanos() < deadline {
            if sync(condition) { return true }
            usleep(5_000)
        }
        return false
    }

    func stop() {
        group.stop()
        group.join()
    }
}

/// A value handed from the loop thread to the test thread.
final class Slot<T>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = Mutex<Void>(())
    private var value: T?
    func set(_ v: T) { lock.withLock { _ in value = v } }
    func take() -> T? { lock.withLock { _ in defer { value = nil }; return value } }
}

/// Records what a connection reports, on the loop; read from the test through `sync`.
final class RedisRecorder: RedisConnectionDelegate {
    var states: [RedisConnectionState] = []
    var messages: [RedisPushMessage] = []
    var confirmations: [RedisSubscriptionConfirmation] = []
    var results: [Result<RedisReply, RedisError>] = []
    /// What `redisConnectionShouldHoldQueue` answers.
    var holdQueue = false

    func redisConnection(_ connection: RedisConnection, didChangeState state: RedisConnectionState) { states.append(state) }
    func redisConnection(_ connection: RedisConnection, didReceive message: RedisPushMessage) { messages.append(message) }
    func redisConnection(_ connection: RedisConnection, didConfirm confirmation: RedisSubscriptionConfirmation) {
        confirmations.append(confirmation)
    }

    func redisConnectionShouldHoldQueue(_ connection: RedisConnection) -> Bool { holdQueue }

    /// A completion that appends to `results`.
    var record: RedisConnection.Completion { { [unowned self] in self.results.append($0) } }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
