@testable import Gateway
import GatewayBuffers
import Testing

@Suite("Reply ordering")
struct ReplyQueueTests {
    @Test func repliesLeaveInSendOrderWhateverOrderCallsFinish() {
        var q = ReplyQueue()
        var out: [String] = []
        let s0 = q.reserve(), s1 = q.reserve(), s2 = q.reserve(), s3 = q.reserve()
        q.markWaiting(s0)
        q.markWaiting(s1)
        // s2 is answered at once but must wait behind s0 and s1.
        #expect(!q.isNext(s2))
        q.complete(s2, with: ByteBuffer(string: "2")) { out.append($0.description) }
        q.markWaiting(s3)
        q.complete(s1, with: ByteBuffer(string: "1")) { out.append($0.description) }
        #expect(out.isEmpty)
        q.complete(s0, with: ByteBuffer(string: "0")) { out.append($0.description) }
        #expect(out == ["0", "1", "2"])
        q.complete(s3, with: nil) { out.append($0.description) }
        #expect(out == ["0", "1", "2"])
        #expect(q.isIdle)
        let s4 = q.reserve()
        #expect(q.isNext(s4))
    }

    @Test func theOldestReplyIsWrittenByTheCallerAndReleasesTheOnesBehindIt() {
        var q = ReplyQueue()
        var out: [String] = []
        let s0 = q.reserve(), s1 = q.reserve(), s2 = q.reserve()
        q.markWaiting(s0)
        q.markWaiting(s1)
        q.markWaiting(s2)
        #expect(q.isOldest(s0) && !q.isNext(s0))
        #expect(!q.isOldest(s1))
        q.complete(s2, with: ByteBuffer(string: "2")) { out.append($0.description) }
        // What WebSocketConnection.completeFromScratch does for the oldest: write "0" itself, then
        // complete without a buffer.
        out.append("0")
        q.complete(s0, with: nil) { out.append($0.description) }
        #expect(out == ["0"])
        #expect(q.isOldest(s1))
        out.append("1")
        q.complete(s1, with: nil) { out.append($0.description) }
        #expect(out == ["0", "1", "2"])
        #expect(q.isIdle)
    }

    @Test func manyInterleavedRandomCompletions() {
        var q = ReplyQueue()
        var out: [Int] = []
        var rng = SystemRandomNumberGenerator()
        var pending: [UInt64] = []
        for _ in 0..<500 {
            let s = q.reserve()
            q.markWaiting(s)
            pending.append(s)
            if Int.random(in: 0..<3, using: &rng) == 0, !pending.isEmpty {
                let i = Int.random(in: 0..<pending.count, using: &rng)
                let done = pending.remove(at: i)
                q.complete(done, with: ByteBuffer(string: "\(done)")) { out.append(Int($0.description) ?? -1) }
            }
        }
        for s in pending.shuffled(using: &rng) {
            q.complete(s, with: ByteBuffer(string: "\(s)")) { out.append(Int($0.description) ?? -1) }
        }
        #expect(out == Array(0..<500))
        #expect(q.isIdle)
    }
}

extension ReplyQueue {
    /// Marks `seq` waiting with a placeholder of what its answer needs.
    mutating func markWaiting(_ seq: UInt64) {
        markWaiting(seq, PendingReply(command: "cmd\(seq)", id: "\(seq)", binary: false, route: RouteRef(Route(target: .local(.echo)))))
    }
}

@Suite("Reply ordering: what a waiting message keeps")
struct ReplyQueuePendingTests {
    @Test func aWaitingMessageKeepsItsCommandAndIdUntilAnswered() {
        var q = ReplyQueue()
        let s0 = q.reserve(), s1 = q.reserve()
        let route = RouteRef(Route(target: .local(.echo), deliver: .room("r")))
        q.markWaiting(s0, PendingReply(command: "a", id: "1", binary: true, route: route))
        q.markWaiting(s1)
        #expect(q.pending(s0)?.command == "a")
        #expect(q.pending(s0)?.id == "1")
        #expect(q.pending(s0)?.binary == true)
        #expect(q.pending(s0)?.route === route)
        #expect(q.pending(s1)?.command == "cmd1")
        q.complete(s1, with: nil) { _ in }
        #expect(q.pending(s1) == nil, "an answered message is no longer waiting")
        #expect(q.pending(s0)?.command == "a", "the earlier one still is")
        q.complete(s0, with: nil) { _ in }
        #expect(q.pending(s0) == nil)
        #expect(q.pending(99) == nil, "a sequence number never reserved")
        #expect(q.isIdle)
    }
}
