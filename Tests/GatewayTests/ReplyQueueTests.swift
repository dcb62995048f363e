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
        markWaiting(seq, PendingReply(command: "cmd\(seq)", id: "\(seq)", binary: false, route: RouteRef(Route(target: .local(.echo)), pattern: "")))
    }
}

@Suite("Reply ordering: what a waiting message keeps")
struct ReplyQueuePendingTests {
    @Test func aWaitingMessageKeepsItsCommandAndIdUntilAnswered() {
        var q = ReplyQueue()
        let s0 = q.reserve(), s1 = q.reserve()
        let route = RouteRef(Route(target: .local(.echo), deliver: .room("r")), pattern: "")
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

@Suite("Reply ordering: deliveries to others keep the sender's order")
struct ReplyQueueDeliveryTests {
    /// What the queue released, in order: `push <cmd>` and `reply <bytes>`.
    final class Log {
        var events: [String] = []
        func push(_ d: HeldDelivery) { events.append("push \(d.command) \(String(decoding: d.body, as: UTF8.self))") }
        func write(_ b: inout ByteBuffer) { events.append("reply \(b.description)") }
    }

    static func held(_ seq: UInt64, target: DeliveryTarget = .room("chat")) -> HeldDelivery {
        let body = Array("b\(seq)".utf8)
        return body.withUnsafeBytes { HeldDelivery(target: target, command: "c\(seq)", body: $0, bodyIsJSON: false, binary: false) }
    }

    @Test func aDeliveryThatFinishesEarlyWaitsForTheEarlierMessage() {
        var q = ReplyQueue()
        let log = Log()
        let s0 = q.reserve(), s1 = q.reserve()
        q.markWaiting(s0)
        q.markWaiting(s1)
        // The second chat.send's call finishes first: its push and its reply both wait.
        #expect(!q.isOldest(s1))
        q.complete(s1, with: ByteBuffer(string: "r1"), holding: Self.held(s1), push: log.push, write: log.write)
        #expect(log.events.isEmpty)
        // The first one's turn: the caller starts its push and writes its reply itself (it is the
        // oldest), then completing it releases the second, push before reply.
        #expect(q.isOldest(s0))
        log.events.append("push c0 b0")
        log.events.append("reply r0")
        q.complete(s0, with: nil, push: log.push, write: log.write)
        #expect(log.events == ["push c0 b0", "reply r0", "push c1 b1", "reply r1"])
        #expect(q.isIdle)
    }

    @Test func aDeliveryWithoutAReplyForTheSenderKeepsItsPlace() {
        // `deliver: others` (or a room the sender is not in): a push and no reply.
        var q = ReplyQueue()
        let log = Log()
        let s0 = q.reserve(), s1 = q.reserve(), s2 = q.reserve()
        q.markWaiting(s0)
        q.markWaiting(s1)
        q.markWaiting(s2)
        q.complete(s2, with: ByteBuffer(string: "r2"), push: log.push, write: log.write)
        q.complete(s1, with: nil, holding: Self.held(s1, target: .all), push: log.push, write: log.write)
        #expect(log.events.isEmpty)
        q.complete(s0, with: ByteBuffer(string: "r0"), holding: Self.held(s0), push: log.push, write: log.write)
        #expect(log.events == ["push c0 b0", "reply r0", "push c1 b1", "reply r2"])
        #expect(q.isIdle)
    }

    @Test func anErrorOrAnEmptyAnswerReleasesTheDeliveriesBehindIt() {
        // The earlier call fails (error reply) or answers 204: the held push goes out all the same.
        var q = ReplyQueue()
        let log = Log()
        let s0 = q.reserve(), s1 = q.reserve(), s2 = q.reserve()
        q.markWaiting(s0)
        q.markWaiting(s1)
        q.markWaiting(s2)
        q.complete(s2, with: nil, holding: Self.held(s2), push: log.push, write: log.write)
        q.complete(s1, with: nil, push: log.push, write: log.write)
        #expect(log.events.isEmpty)
        q.complete(s0, with: ByteBuffer(string: "error0"), push: log.push, write: log.write)
        #expect(log.events == ["reply error0", "push c2 b2"])
        #expect(q.isIdle)
    }

    @Test func theHeldDeliveryKeepsACopyOfItsBody() {
        var bytes = Array("hello".utf8)
        let d = bytes.withUnsafeBytes { HeldDelivery(target: .user("u"), command: "c", body: $0, bodyIsJSON: true, binary: false) }
        bytes[0] = UInt8(ascii: "j")  // the backend's buffer is reused for the next response
        #expect(d.body == Array("hello".utf8))
        #expect(d.target == .user("u") && d.bodyIsJSON && !d.binary)
    }

    @Test func manyInterleavedCompletionsWithDeliveries() {
        var q = ReplyQueue()
        let log = Log()
        var rng = SystemRandomNumberGenerator()
        var pending: [UInt64] = []
        let count: UInt64 = 400
        // Message n pushes when n % 3 != 0 and replies when n % 2 == 0.
        func finish(_ s: UInt64) {
            let reply = s % 2 == 0 ? ByteBuffer(string: "r\(s)") : nil
            let held = s % 3 != 0 ? Self.held(s) : nil
            q.complete(s, with: reply, holding: held, push: log.push, write: log.write)
        }
        for _ in 0..<count {
            let s = q.reserve()
            q.markWaiting(s)
            pending.append(s)
            if Int.random(in: 0..<3, using: &rng) == 0 {
                finish(pending.remove(at: Int.random(in: 0..<pending.count, using: &rng)))
            }
        }
        for s in pending.shuffled(using: &rng) { finish(s) }
        var expected: [String] = []
        for s in 0..<count {
            if s % 3 != 0 { expected.append("push c\(s) b\(s)") }
            if s % 2 == 0 { expected.append("reply r\(s)") }
        }
        #expect(log.events == expected)
        #expect(q.isIdle)
    }
}
