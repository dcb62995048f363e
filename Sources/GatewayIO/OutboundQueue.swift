public import GatewayBuffers

/// Bytes waiting to be written to one socket, in order.
///
/// A queue is a list of chunks: private buffers that replies are encoded into, and `SharedBytes`
/// frames that fan-out hands to many sockets without copying. While the kernel is reading from a
/// chunk (an io_uring send in flight) the chunk is *locked*: new bytes never go into it, because
/// appending could move its storage under the kernel. Appends go to an unlocked tail buffer instead.
package struct OutboundQueue {
    /// One queued piece: a private buffer, or a shared frame (`shared` set) read from `offset`.
    ///
    /// A struct rather than an enum with payloads: the tail buffer is then written in place
    /// (`chunks[tail].buffer.write…`, through the array's modify accessor) and stays uniquely
    /// referenced. Taking an enum's payload out and putting it back cost a retain, a release and two
    /// stores per append (callgrind, S2 at depth 8).
    package struct Chunk {
        /// The bytes of a private chunk (empty for a shared one).
        var buffer: ByteBuffer
        /// The frame of a shared chunk.
        var shared: SharedBytes?
        /// Bytes of `shared` already sent.
        var offset: Int

        init(buffer: consuming ByteBuffer) {
            self.buffer = buffer
            self.shared = nil
            self.offset = 0
        }

        init(shared: SharedBytes) {
            self.buffer = ByteBuffer()
            self.shared = shared
            self.offset = 0
        }

        /// Bytes left in the chunk.
        package var readable: Int {
            if let s = shared { return s.count - offset }
            return buffer.readableBytes
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
        if tail >= head + locked, tail >= head, chunks[tail].shared == nil {
            let before = chunks[tail].buffer.readableBytes
            defer { count += chunks[tail].buffer.readableBytes - before }
            return try body(&chunks[tail].buffer)
        }
        var b = pool.take()
        let r: R
        do {
            r = try body(&b)
        } catch {
            finishAppend(consume b, pool: &pool)
            throw error
        }
        finishAppend(consume b, pool: &pool)
        return r
    }

    /// Queues a buffer `append` filled, or gives it back when it stayed empty. The buffer is moved
    /// (a `defer` copied it: a retain and a release per append).
    @inline(__always)
    private mutating func finishAppend(_ b: consuming ByteBuffer, pool: inout BufferPool) {
        let n = b.readableBytes
        count += n
        if n > 0 { chunks.append(Chunk(buffer: b)) } else { pool.give(b) }
    }

    /// Appends a shared frame.
    package mutating func append(shared: SharedBytes) {
        guard shared.count > 0 else { return }
        chunks.append(Chunk(shared: shared))
        count += shared.count
    }

    /// Calls `body` with up to `max` iovec-like spans of the queued bytes from the head, and locks the
    /// chunks it exposed until `consume`/`unlock` is called.
    package mutating func withSpans(max: Int, lock: Bool, _ body: (UnsafeRawBufferPointer, Int) -> Void) -> Int {
        var n = 0
        var i = head
        while i < chunks.count && n < max {
            if let s = chunks[i].shared {
                body(UnsafeRawBufferPointer(rebasing: s.unsafeBytes[chunks[i].offset...]), n)
            } else {
                chunks[i].buffer.withUnsafeReadableBytes { body($0, n) }
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
                release(head, to: &pool)
                head += 1
            } else {
                if chunks[head].shared != nil {
                    chunks[head].offset += remaining
                } else {
                    chunks[head].buffer.moveReaderIndex(forwardBy: remaining)
                }
                remaining = 0
            }
        }
        compact()
    }

    /// Frees the chunk array's storage when the queue is empty. The array keeps its capacity when it
    /// drains (re-allocating it per send would cost a malloc per message), so the loop's sweep calls
    /// this for connections that wrote nothing for a while: an idle connection then holds no
    /// storage here (80 bytes each before, issue 13).
    /// - Returns: whether storage was freed.
    @discardableResult
    package mutating func releaseStorageIfEmpty() -> Bool {
        guard chunks.isEmpty, chunks.capacity > 0 else { return false }
        chunks = []
        head = 0
        return true
    }

    /// Clears the lock after a send that wrote nothing.
    package mutating func unlock() { locked = 0 }

    /// Drops everything (connection closed), returning buffers to the pool.
    package mutating func removeAll(pool: inout BufferPool) {
        for i in head..<chunks.count {
            release(i, to: &pool)
        }
        chunks.removeAll()
        head = 0
        locked = 0
        count = 0
    }

    /// Empties chunk `i`, giving its buffer back to the pool. The buffer is swapped out, not copied:
    /// the pool must get the only reference, or its `clear()` copies (one malloc per drained buffer).
    private mutating func release(_ i: Int, to pool: inout BufferPool) {
        chunks[i].shared = nil
        var b = ByteBuffer()
        swap(&b, &chunks[i].buffer)
        if b.capacity > 0 { pool.give(consume b) }
    }

    private mutating func compact() {
        if head == chunks.count {
            // One chunk is the usual case (a reply or a few, written in one send): `removeLast` is
            // inlined, where `removeAll(keepingCapacity:)` is a generic range replacement plus an
            // array destroy, ~240 instructions per drained queue (callgrind, S2 io_uring depth 1).
            if chunks.count == 1 {
                chunks.removeLast()
            } else {
                chunks.removeAll(keepingCapacity: chunks.capacity <= 16)
            }
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
        var b = consume buffer
        b.clear()
        free.append(consume b)
    }
}
