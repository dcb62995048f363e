/// An unordered list with O(1) removal: the last element moves into the gap, and the element that
/// moved is told its new position. Used wherever objects keep their own index into a list (the
/// session index, the loop's client registry, libcurl's active transfers): the one place that
/// bookkeeping is written.
public struct SwapRemoveList<Element> {
    /// The elements, in no particular order.
    @inlinable public var elements: [Element] { storage }
    @usableFromInline var storage: [Element] = []

    /// An empty list.
    @inlinable public init() {}

    /// Number of elements.
    @inlinable public var count: Int { storage.count }

    /// Whether the list is empty.
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// Appends `element`; returns its index.
    @inlinable public mutating func append(_ element: Element) -> Int {
        storage.append(element)
        return storage.count - 1
    }

    /// Removes the element at `index` if `isElement` confirms it is the one meant (a stale index is
    /// ignored), moving the last element into its place and calling `reindex` with that element and
    /// its new index.
    /// - Returns: whether an element was removed.
    @inlinable public mutating func remove(at index: Int, if isElement: (Element) -> Bool, reindex: (Element, Int) -> Void) -> Bool {
        guard index >= 0, index < storage.count, isElement(storage[index]) else { return false }
        let last = storage.count - 1
        if index != last {
            storage[index] = storage[last]
            reindex(storage[index], index)
        }
        storage.removeLast()
        return true
    }

    /// Replaces the element at `index` when `isElement` confirms it is the one meant (a connection
    /// that changed handlers).
    @inlinable public mutating func replace(at index: Int, if isElement: (Element) -> Bool, with new: Element) -> Bool {
        guard index >= 0, index < storage.count, isElement(storage[index]) else { return false }
        storage[index] = new
        return true
    }
}
