public import GatewayBuffers

/// Bytes waiting to be written to one socket, in order.
///
/// A queue is a list of chunks: private buffers that replies are encoded into, and `SharedBytes`
/// frames that fan-out hands to many sockets without copying. While the kernel is reading from a
/// chunk (an io_uring send in flight) the chunk is *locked*: new bytes never go into it, because
/// appending could move its storage under the kernel. Appends go to an unlocked tail buffer instead.
package struct OutboundQueue {
    /// One queued piece.
    package enum Chunk {
        case buffer(ByteBuffer)
        case shared(SharedBytes, offset: Int)

        /// Bytes left in the chunk.
        package var readable: Int {
            switch self {
            case .buffer(let b): b.readableBytes
            case .shared(let s, let offset): s.count - offset
            }
        }
    }

    /// The chunks; those before `head` are sent and empty.
    package private(set) var chunks: [Chunk] = []
    /// The first chunk not fully sent.
    package private(set) var head = 0
    /// Number of chunks from `head` that an in-flight send covers; they must not change.
    package private(set) var locked = 0
    /// Total bytes queued.
    package private(set) var count = 0

    /// An empty queue.
    package init() {}

    /// Whether nothing is queued.
    package var isEmpty: Bool { count == 0 }

    /// Chunks not fully sent yet.
    package var chunkCount: Int { chunks.count - head }

    /// Appends bytes produced by `body` into the unlocked tail buffer.
    package mutating func append<R>(pool: inout BufferPool, _ body: (inout ByteBuffer) throws -> R) rethrows -> R {
        let tail = chunks.count - 1
        if tail >= head + locked, tail >= head, case .buffer(var b) = chunks[tail] {
            chunks[tail] = .buffer(ByteBuffer())  // keep the array's element unique while we mutate
            let before = b.readableBytes
            defer {
                count += b.readableBytes - before
                chunks[tail] = .buffer(b)
            }
            return try body(&b)
        }
        var b = pool.take()
        defer {
            count += b.readableBytes
            if b.readableBytes > 0 { chunks.append(.buffer(b)) } else { pool.give(b) }
        }
        return try body(&b)
    }

    /// Appends a shared frame.
    package mutating func append(shared: SharedBytes) {
        guard shared.count > 0 else { return }
        chunks.append(.shared(shared, offset: 0))
        count += shared.count
    }

    /// Calls `body` with up to `max` iovec-like spans of the queued bytes from the head, and locks the
    /// chunks it exposed until `consume`/`unlock` is called.
    package mutating func withSpans(max: Int, lock: Bool, _ body: (UnsafeRawBufferPointer, Int) -> Void) -> Int {
        var n = 0
        var i = head
        while i < chunks.count && n < max {
            switch chunks[i] {
            case .buffer(let b):
                b.withUnsafeReadableBytes { body($0, n) }
            case .shared(let s, let offset):
                body(UnsafeRawBufferPointer(rebasing: s.unsafeBytes[offset...]), n)
            }
            n += 1
            i += 1
        }
        if lock { locked = n }
        return n
    }

    /// Drops `bytes` written bytes from the head and clears the lock.
    package mutating func consume(_ bytes: Int, pool: inout BufferPool) {
        var remaining = bytes
        count -= bytes
        locked = 0
        while remaining > 0 && head < chunks.count {
            let r = chunks[head].readable
            if remaining >= r {
                remaining -= r
                // Move the chunk out first: handing the pool a second reference would make its
                // `clear()` copy the storage (one malloc per drained buffer).
                let done = chunks[head]
                chunks[head] = .buffer(ByteBuffer())
                if case .buffer(let b) = done { pool.give(b) }
                head += 1
            } else {
                switch chunks[head] {
                case .buffer(var b):
                    chunks[head] = .buffer(ByteBuffer())
                    b.moveReaderIndex(forwardBy: remaining)
                    chunks[head] = .buffer(b)
                case .shared(let s, let offset):
                    chunks[head] = .shared(s, offset: offset + remaining)
                }
                remaining = 0
            }
        }
        compact()
    }

    /// Clears the lock after a send that wrote nothing.
    package mutating func unlock() { locked = 0 }

    /// Drops everything (connection closed), returning buffers to the pool.
    package mutating func removeAll(pool: inout BufferPool) {
        for i in head..<chunks.count {
            let done = chunks[i]
            chunks[i] = .buffer(ByteBuffer())
            if case .buffer(let b) = done { pool.give(b) }
        }
        chunks.removeAll()
        head = 0
        locked = 0
        count = 0
    }

    private mutating func compact() {
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: chunks.capacity <= 16)
            head = 0
        } else if head >= 16 {
            chunks.removeSubrange(0..<head)
            head = 0
        }
    }
}

/// Reusable byte buffers, per event loop, so steady-state replies allocate nothing: outbound chunks
/// here, and replies waiting for an earlier one in the gateway's reply queues. Buffers that grew large
/// are dropped instead of kept, which bounds what the pool pins.
public struct BufferPool {
    private var free: [ByteBuffer] = []
    /// Most buffers kept.
    public let maxCount: Int
    /// Buffers with more capacity than this are not kept.
    public let maxCapacity: Int

    /// Creates an empty pool. The defaults fit the send path: 1,024 buffers of at most 64 KiB.
    public init(maxCount: Int = 1024, maxCapacity: Int = 64 * 1024) {
        self.maxCount = maxCount
        self.maxCapacity = maxCapacity
    }

    /// An empty buffer, from the pool when one is free.
    public mutating func take() -> ByteBuffer {
        free.popLast() ?? ByteBuffer(capacity: 512)
    }

    /// Keeps `buffer` (cleared) for reuse, unless the pool is full or the buffer grew too large. Hand
    /// over the only reference to its storage, or clearing it copies.
    public mutating func give(_ buffer: consuming ByteBuffer) {
        guard free.count < maxCount, buffer.capacity <= maxCapacity, buffer.capacity > 0 else { return }
        var b = buffer
        b.clear()
        free.append(b)
    }
}
