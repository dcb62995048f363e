/// A first-in, first-out queue on a ring buffer: O(1) push and pop, storage reused forever (it only
/// grows, by doubling, when full). Used where work must wait its turn, such as io_uring operations
/// that found the submission queue full; an `Array` with `removeFirst` would move every element.
package struct RingQueue<Element> {
    private var storage: [Element?]
    private var head = 0
    /// Number of queued elements.
    package private(set) var count = 0

    /// An empty queue with room for `initialCapacity` elements before it grows (rounded up to a power
    /// of two). 16 fits the rare bursts the submission queue sees.
    package init(initialCapacity: Int = 16) {
        var c = 1
        while c < initialCapacity { c <<= 1 }
        storage = Array(repeating: nil, count: c)
    }

    /// Whether the queue is empty.
    @inline(__always)
    package var isEmpty: Bool { count == 0 }

    /// The oldest element, without removing it.
    package var first: Element? { count == 0 ? nil : storage[head] }

    /// Appends `element` at the back.
    package mutating func push(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
    }

    /// Removes and returns the oldest element.
    package mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head]
        storage[head] = nil
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return e
    }

    /// Drops every element.
    package mutating func removeAll() {
        while pop() != nil {}
    }

    private mutating func grow() {
        var bigger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        for i in 0..<count { bigger[i] = storage[(head + i) & (storage.count - 1)] }
        storage = bigger
        head = 0
    }
}
