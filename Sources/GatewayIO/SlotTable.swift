/// Per-slot state an engine keeps for each connection (or watch), indexed by the slot number the
/// loop assigned. Plain memory (`Element` must be a trivial type): access is a load from a fixed
/// base, with no copy-on-write check, retain or exclusivity bookkeeping, because the io_uring and
/// epoll engines touch it on every send and receive. Grows by doubling; never shrinks.
struct SlotTable<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var capacity: Int
    private let initial: Element

    /// A table whose new entries start as `initial`. 64 entries are allocated up front.
    init(initial: Element) {
        precondition(_isPOD(Element.self), "SlotTable holds trivial values only")
        self.initial = initial
        capacity = 64
        base = .allocate(capacity: capacity)
        base.initialize(repeating: initial, count: capacity)
    }

    /// Makes `slot` addressable.
    @inline(__always)
    mutating func ensure(_ slot: Int) {
        if slot >= capacity { grow(to: slot) }
    }

    /// The entry of `slot`, which must have been `ensure`d.
    @inline(__always)
    subscript(slot: Int) -> Element {
        unsafeAddress { UnsafePointer(base + slot) }
        nonmutating unsafeMutableAddress { base + slot }
    }

    /// Whether `slot` has been `ensure`d.
    @inline(__always)
    func contains(_ slot: Int) -> Bool { slot < capacity }

    @inline(never)
    private mutating func grow(to slot: Int) {
        var c = capacity
        while c <= slot { c *= 2 }
        let b = UnsafeMutablePointer<Element>.allocate(capacity: c)
        b.moveInitialize(from: base, count: capacity)
        (b + capacity).initialize(repeating: initial, count: c - capacity)
        base.deallocate()
        base = b
        capacity = c
    }

    /// Frees the memory (engine teardown).
    func deallocate() { base.deallocate() }
}
