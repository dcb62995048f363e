/// A re-armable timer owned by one event loop. Create it once (the callback is stored once), then
/// `schedule`/`cancel` it as often as needed without allocating.
public final class LoopTimer {
    /// The loop that runs the callback (`unowned(unsafe)`: timers are owned by objects of that loop).
    public unowned(unsafe) let loop: EventLoop
    let callback: () -> Void
    var deadline: UInt64 = 0
    var heapIndex = -1

    init(loop: EventLoop, callback: @escaping () -> Void) {
        self.loop = loop
        self.callback = callback
    }

    /// Whether the timer is armed.
    public var isScheduled: Bool { heapIndex >= 0 }

    /// Arms (or re-arms) the timer to fire once after `nanos` nanoseconds.
    public func schedule(afterNanos nanos: UInt64) {
        loop.timers.schedule(self, deadline: loop.now &+ nanos)
    }

    /// Arms (or re-arms) the timer at an absolute loop time.
    public func schedule(at deadline: UInt64) {
        loop.timers.schedule(self, deadline: deadline)
    }

    /// Disarms the timer; harmless when it is not armed.
    public func cancel() {
        loop.timers.remove(self)
    }
}

/// A binary min-heap of armed timers, ordered by deadline.
struct TimerHeap {
    private(set) var items: [LoopTimer] = []

    var nextDeadline: UInt64? { items.first?.deadline }

    mutating func schedule(_ t: LoopTimer, deadline: UInt64) {
        if t.heapIndex >= 0 { remove(t) }
        t.deadline = deadline
        t.heapIndex = items.count
        items.append(t)
        up(items.count - 1)
    }

    mutating func remove(_ t: LoopTimer) {
        let i = t.heapIndex
        guard i >= 0, i < items.count, items[i] === t else { return }
        let last = items.count - 1
        if i != last {
            items.swapAt(i, last)
            items[i].heapIndex = i
        }
        items.removeLast()
        t.heapIndex = -1
        if i < items.count {
            down(i)
            up(i)
        }
    }

    /// Removes and returns the earliest timer if it is due.
    mutating func popExpired(now: UInt64) -> LoopTimer? {
        guard let first = items.first, first.deadline <= now else { return nil }
        remove(first)
        return first
    }

    private mutating func up(_ index: Int) {
        var i = index
        while i > 0 {
            let p = (i - 1) / 2
            if items[p].deadline <= items[i].deadline { break }
            items.swapAt(p, i)
            items[p].heapIndex = p
            items[i].heapIndex = i
            i = p
        }
    }

    private mutating func down(_ index: Int) {
        var i = index
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && items[l].deadline < items[m].deadline { m = l }
            if r < n && items[r].deadline < items[m].deadline { m = r }
            if m == i { break }
            items.swapAt(m, i)
            items[m].heapIndex = m
            items[i].heapIndex = i
            i = m
        }
    }
}
