/// The output memory of the permessage-deflate wrappers: zlib writes straight into it, and it keeps
/// its capacity from one message to the next (up to `retainedCapacity`), so messages of the usual
/// size allocate nothing once it has grown. Output is valid only until the next call that writes
/// into the buffer, so one buffer per direction and event loop serves every compressor or
/// decompressor of that loop. Confined to one thread, like everything it is handed to.
public final class PerMessageDeflateBuffer {
    /// Capacity kept after a message; a larger buffer (grown for one big message) is freed.
    public let retainedCapacity: Int
    /// Where the bytes start; nil until the first reservation.
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes allocated.
    public private(set) var capacity = 0
    /// Bytes written so far.
    var count = 0

    /// Creates an empty buffer.
    /// - Parameter retainedCapacity: defaults to 1 MiB, the gateway's default `maxMessageBytes`: a
    ///   loop's buffer then never shrinks and regrows for messages within the default limit, and the
    ///   cost is one such buffer per loop and direction, not per connection.
    public init(retainedCapacity: Int = 1 << 20) {
        self.retainedCapacity = retainedCapacity
    }

    deinit { base?.deallocate() }

    /// Makes room for at least `total` bytes, keeping the `count` bytes written so far. Grows by
    /// doubling, but never past `ceiling` (the decompressor's limit + 1).
    func reserve(_ total: Int, ceiling: Int = .max) {
        guard total > capacity else { return }
        let grown = max(total, min(ceiling, max(capacity * 2, 256)))
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        if let base {
            if count > 0 { fresh.copyMemory(from: base, byteCount: count) }
            base.deallocate()
        }
        base = fresh
        capacity = grown
    }

    /// Forgets the bytes, and frees the memory when it grew past `retainedCapacity`.
    func reset() {
        count = 0
        if capacity > retainedCapacity {
            base?.deallocate()
            base = nil
            capacity = 0
        }
    }

    /// The bytes written so far.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

@available(*, unavailable)
extension PerMessageDeflateBuffer: Sendable {}
