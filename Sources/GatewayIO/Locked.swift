#if canImport(Glibc)
internal import Glibc
#endif

/// A value guarded by a `pthread_mutex_t`. Used instead of `Synchronization.Mutex` for the few
/// cross-thread structures (task queues, registries) because ThreadSanitizer understands pthread
/// mutexes, while `Mutex`'s futex fast path hides the happens-before edges from it and makes every
/// TSan run report false races.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only accessed between pthread_mutex_lock and pthread_mutex_unlock.
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// Creates the lock around an initial value.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
