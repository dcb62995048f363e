import GatewayBuffers
import GatewayIO
import Testing

@Suite("Outbound queue")
struct OutboundQueueTests {
    private func spans(_ q: inout OutboundQueue, lock: Bool = false) -> [[UInt8]] {
        var out: [[UInt8]] = []
        _ = q.withSpans(max: 16, lock: lock) { span, _ in out.append(Array(span)) }
        return out
    }

    private func shared(_ s: String) -> SharedBytes {
        var b = ByteBuffer(capacity: 16)
        b.write(string: s)
        return SharedBytes(copying: b)
    }

    @Test func appendsCoalesceIntoTheTailBufferAndCount() {
        var pool = BufferPool()
        var q = OutboundQueue()
        #expect(q.isEmpty)
        q.append(pool: &pool) { $0.write(string: "ab") }
        q.append(pool: &pool) { $0.write(string: "cd") }
        #expect(q.count == 4)
        #expect(spans(&q) == [Array("abcd".utf8)])
    }

    @Test func aDrainedQueueKeepsItsStorageUntilReleased() {
        var pool = BufferPool()
        var q = OutboundQueue()
        var released = q.releaseStorageIfEmpty()
        #expect(!released, "nothing allocated yet")
        q.append(pool: &pool) { $0.write(string: "ab") }
        released = q.releaseStorageIfEmpty()
        #expect(!released, "not empty")
        q.consume(2, pool: &pool)
        #expect(q.isEmpty)
        released = q.releaseStorageIfEmpty()
        #expect(released, "the drained queue kept its chunk array")
        released = q.releaseStorageIfEmpty()
        #expect(!released)
        q.append(pool: &pool) { $0.write(string: "cd") }
        #expect(spans(&q) == [Array("cd".utf8)])
    }

    @Test func lockedChunksAreNotAppendedTo() {
        var pool = BufferPool()
        var q = OutboundQueue()
        q.append(pool: &pool) { $0.write(string: "ab") }
        #expect(spans(&q, lock: true) == [Array("ab".utf8)])
        // A send covers "ab": new bytes go into a new buffer, so the kernel's span cannot move.
        q.append(pool: &pool) { $0.write(string: "cd") }
        #expect(spans(&q) == [Array("ab".utf8), Array("cd".utf8)])
        q.consume(2, pool: &pool)
        #expect(spans(&q) == [Array("cd".utf8)])
        #expect(q.count == 2)
    }

    @Test func partialConsumeMovesWithinAChunkAndSharedFramesAreNotCopied() {
        var pool = BufferPool()
        var q = OutboundQueue()
        q.append(shared: shared("hello"))
        q.append(pool: &pool) { $0.write(string: "!") }
        q.append(shared: shared(""))  // empty frames are skipped
        #expect(q.count == 6)
        q.consume(3, pool: &pool)
        #expect(spans(&q) == [Array("lo".utf8), Array("!".utf8)])
        q.consume(3, pool: &pool)
        #expect(q.isEmpty)
        #expect(spans(&q).isEmpty)
    }

    @Test func drainedBuffersReturnToThePool() {
        var pool = BufferPool()
        var q = OutboundQueue()
        q.append(pool: &pool) { $0.write(string: "xyz") }
        q.consume(3, pool: &pool)
        // The buffer went back cleared; the next append reuses it (same capacity, nothing queued).
        let reused = pool.take()
        #expect(reused.readableBytes == 0)
        #expect(reused.capacity >= 512)
    }

    @Test func removeAllDropsEverythingAndUnlocks() {
        var pool = BufferPool()
        var q = OutboundQueue()
        q.append(pool: &pool) { $0.write(string: "ab") }
        _ = spans(&q, lock: true)
        q.append(shared: shared("cd"))
        q.removeAll(pool: &pool)
        #expect(q.isEmpty && q.locked == 0 && q.chunks.isEmpty)
        q.append(pool: &pool) { $0.write(string: "e") }
        #expect(spans(&q) == [Array("e".utf8)])
    }

    @Test func manyChunksCompactWithoutLosingOrder() {
        var pool = BufferPool()
        var q = OutboundQueue()
        var expected: [UInt8] = []
        for i in 0..<40 {
            let s = "[\(i)]"
            q.append(shared: shared(s))
            expected += Array(s.utf8)
        }
        var got: [UInt8] = []
        while !q.isEmpty {
            let first = spans(&q).first ?? []
            got += first
            q.consume(first.count, pool: &pool)
        }
        #expect(got == expected)
    }
}
