internal import CGatewayShims
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

/// A timerfd on an event loop, armed at absolute CLOCK_MONOTONIC times: the open-loop pacer.
///
/// The loop's own `LoopTimer` waits through the engine's timeout, which epoll rounds up to whole
/// milliseconds (and epoll_wait adds the thread's timer slack); a timerfd is an hrtimer with
/// nanosecond resolution that wakes either engine through an ordinary readiness watch, so both
/// engines pace alike. `timerfd_settime` resets the expiration count, so re-arming (or disarming)
/// after each wake-up also clears the readiness; no `read` is needed.
/// See timerfd_create(2).
final class PacingTimer: FDWatcher {
    private let fd: Int32
    private unowned(unsafe) let loop: EventLoop
    private var watch = -1
    private let callback: () -> Void

    /// Creates the timerfd and watches it on `loop`; `callback` runs on the loop when it fires.
    /// Nil when the descriptor cannot be created (EMFILE/ENFILE/ENOMEM).
    init?(loop: EventLoop, _ callback: @escaping () -> Void) {
        let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK) | Int32(TFD_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.loop = loop
        self.callback = callback
        watch = loop.watch(fd: fd, readable: true, writable: false, token: 0, watcher: self)
    }

    /// Fires once at `deadline` (CLOCK_MONOTONIC ns); a deadline already past fires at once.
    func arm(at deadline: UInt64) {
        // A zero it_value disarms the timer, so the earliest deadline is 1 ns (as curl's ephiperfifo).
        set(Swift.max(deadline, 1))
    }

    /// Stops the timer (a pending expiration is cleared too).
    func disarm() { set(0) }

    /// Stops watching and closes the descriptor (loop thread).
    func close() {
        guard watch >= 0 else { return }
        loop.unwatch(watch)
        watch = -1
        Glibc.close(fd)
    }

    func fdReady(_ fd: Int32, token: Int, readable: Bool, writable: Bool, error: Bool) {
        callback()
    }

    private func set(_ deadline: UInt64) {
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(deadline / 1_000_000_000)
        spec.it_value.tv_nsec = Int(deadline % 1_000_000_000)
        let r = timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &spec, nil)
        // Only EBADF/EFAULT/EINVAL are possible on our own descriptor with a valid spec: a bug.
        if r != 0 { preconditionFailure("timerfd_settime: errno \(errno)") }
    }
}

@available(*, unavailable)
extension PacingTimer: Sendable {}
