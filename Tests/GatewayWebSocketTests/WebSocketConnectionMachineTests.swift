import GatewayWebSocket
import Testing

/// Every action sequence of the connection machine: pings and their pongs, the idle and close
/// timeouts, both closing handshakes, backpressure, drain, a close after the answers in flight,
/// failures and forced closes.
@Suite("WebSocket connection machine")
struct WebSocketConnectionMachineTests {
    static let s: UInt64 = 1_000_000_000
    /// Ping after 1 s of silence, close after 3 s, close handshake waits 2 s, 2 answers in flight.
    static let policy = WebSocketConnectionMachine.Policy(
        pingIntervalNanos: 1 * s, idleTimeoutNanos: 3 * s, closeTimeoutNanos: 2 * s, maxInflight: 2)

    func machine(at t: UInt64 = 100 * s) -> WebSocketConnectionMachine {
        WebSocketConnectionMachine(policy: Self.policy, now: t)
    }

    func pong(_ payload: UInt64, into m: inout WebSocketConnectionMachine) {
        withUnsafeBytes(of: payload.bigEndian) { m.receivedPong($0) }
    }

    // MARK: Pings and idle

    @Test func aSilentPeerGetsAPingThenAnIdleCloseThenTheCloseTimeout() {
        var m = machine(at: 0)
        #expect(m.deadline == 1 * Self.s, "first the ping interval")
        #expect(m.deadlinePassed(now: 1 * Self.s) == .sendPing(payload: 1))
        #expect(m.outstandingPing == 1)
        #expect(m.deadline == 3 * Self.s, "with a ping out, the idle timeout")
        #expect(m.deadlinePassed(now: 2 * Self.s) == .none, "no second ping while one is unanswered")
        #expect(m.deadlinePassed(now: 3 * Self.s) == .sendClose(.goingAway, reason: "idle timeout"))
        #expect(m.state == .closeSent(at: 3 * Self.s))
        #expect(!m.canSendData)
        #expect(m.deadline == 5 * Self.s, "the close handshake waits closeTimeout")
        #expect(m.deadlinePassed(now: 5 * Self.s) == .abort(nil, reason: "close timeout"))
        #expect(m.isEnded)
        #expect(m.closeCode == .goingAway && m.closeReason == "idle timeout")
        #expect(m.deadline == 0)
    }

    @Test func aPongWithThePingsPayloadAnswersIt() {
        var m = machine(at: 0)
        #expect(m.deadlinePassed(now: 1 * Self.s) == .sendPing(payload: 1))
        m.receivedBytes(now: 1 * Self.s + 10)
        pong(7, into: &m)
        #expect(m.outstandingPing == 1, "a pong with another payload does not answer the ping")
        m.receivedPong(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(m.outstandingPing == 1, "nor does an empty one")
        pong(1, into: &m)
        #expect(m.outstandingPing == nil)
        #expect(m.deadline == 2 * Self.s + 10, "back to the ping interval from the last traffic")
        #expect(m.deadlinePassed(now: 2 * Self.s + 10) == .sendPing(payload: 2), "each ping has a new payload")
    }

    @Test func trafficPostponesThePingAndTheIdleClose() {
        var m = machine(at: 0)
        m.receivedBytes(now: Self.s / 2)
        #expect(m.deadlinePassed(now: 1 * Self.s) == .none, "the deadline moved with the traffic")
        #expect(m.deadline == Self.s / 2 + Self.s)
        #expect(m.deadlinePassed(now: Self.s / 2 + Self.s) == .sendPing(payload: 1))
        m.receivedBytes(now: 3 * Self.s)
        #expect(m.deadlinePassed(now: 4 * Self.s) == .none, "traffic after the ping keeps it open")
        #expect(m.deadlinePassed(now: 6 * Self.s) == .sendClose(.goingAway, reason: "idle timeout"))
    }

    @Test func pingsAreAnsweredOnlyWhileOpen() {
        var m = machine()
        #expect(m.receivedPing())
        _ = m.close(code: .normalClosure, reason: "", now: 100 * Self.s)
        #expect(!m.receivedPing(), "no pong after our close frame")
    }

    // MARK: Closing handshakes

    @Test func thePeerClosesFirstAndIsEchoed() {
        var m = machine()
        #expect(m.receivedClose(code: WebSocketCloseCode(rawValue: 4001), reason: "bye") == .echoCloseAndClose(WebSocketCloseCode(rawValue: 4001)))
        #expect(m.isEnded)
        #expect(m.closeCode?.rawValue == 4001 && m.closeReason == "bye")
        #expect(m.receivedClose(code: .normalClosure, reason: "") == .none, "a second close is ignored")
    }

    @Test func anEmptyCloseIsAnsweredWith1000AndReportedAs1005() {
        var m = machine()
        #expect(m.receivedClose(code: nil, reason: "") == .echoCloseAndClose(.normalClosure))
        #expect(m.closeCode == .noStatus)
    }

    @Test func weCloseAndThePeerAnswers() {
        var m = machine()
        #expect(m.close(code: WebSocketCloseCode(rawValue: 4000), reason: "kicked", now: 100 * Self.s) == .sendClose(WebSocketCloseCode(rawValue: 4000), reason: "kicked"))
        #expect(m.close(code: .normalClosure, reason: "again", now: 100 * Self.s) == .none, "one close frame only")
        #expect(!m.acceptsMessages, "data after our close is not acted on")
        #expect(!m.holdsInput, "but bytes are read, to see the answer")
        #expect(m.receivedClose(code: WebSocketCloseCode(rawValue: 4000), reason: "") == .closeConnection)
        #expect(m.isEnded)
        #expect(m.closeCode?.rawValue == 4000 && m.closeReason == "kicked", "the code we sent stays the reported one")
    }

    // MARK: Backpressure

    @Test func readingPausesAtTheInflightLimitAndResumesBelowIt() {
        var m = machine()
        m.callStarted()
        #expect(m.messageHandled() == .none)
        m.callStarted()
        #expect(m.messageHandled() == .pauseReading)
        #expect(m.holdsInput && !m.acceptsMessages)
        #expect(m.messageHandled() == .none, "already paused")
        #expect(m.callFinished(now: 100 * Self.s) == .resumeReading)
        #expect(m.acceptsMessages)
        #expect(m.callFinished(now: 100 * Self.s) == .none)
        #expect(m.inflight == 0)
    }

    // MARK: Drain and a close after the answers in flight

    @Test func aDrainWaitsForTheAnswersInFlightThenCloses1001() {
        var m = machine()
        m.callStarted()
        #expect(m.beginDrain(now: 100 * Self.s) == .pauseReading)
        #expect(m.holdsInput)
        #expect(m.callFinished(now: 101 * Self.s) == .sendClose(.goingAway, reason: "server shutting down"))
        #expect(m.state == .closeSent(at: 101 * Self.s))
        #expect(!m.holdsInput, "reading again for the peer's close")
    }

    @Test func aDrainWithNothingInFlightClosesAtOnce() {
        var m = machine()
        #expect(m.beginDrain(now: 100 * Self.s) == .sendClose(.goingAway, reason: "server shutting down"))
    }

    @Test func aRequestedCloseWaitsForEveryAnswerAndKeepsItsCodeThroughADrain() {
        var m = machine()
        m.callStarted()
        m.callStarted()
        #expect(m.closeAfterInflight(code: WebSocketCloseCode(rawValue: 4002), reason: "done", now: 100 * Self.s) == .pauseReading)
        #expect(m.beginDrain(now: 100 * Self.s) == .none, "the requested close takes precedence")
        #expect(m.callFinished(now: 100 * Self.s) == .none, "one answer still outstanding")
        #expect(m.callFinished(now: 100 * Self.s) == .sendClose(WebSocketCloseCode(rawValue: 4002), reason: "done"))
    }

    @Test func aRequestedCloseWhilePausedForInflightDoesNotPauseTwice() {
        var m = machine()
        m.callStarted()
        m.callStarted()
        #expect(m.messageHandled() == .pauseReading)
        #expect(m.closeAfterInflight(code: .normalClosure, reason: "", now: 100 * Self.s) == .none)
        #expect(m.callFinished(now: 100 * Self.s) == .none, "stopped, not resumed, below the limit")
        #expect(m.callFinished(now: 100 * Self.s) == .sendClose(.normalClosure, reason: ""))
    }

    @Test func aRequestedCloseWithNothingInFlightClosesAtOnce() {
        var m = machine()
        #expect(m.closeAfterInflight(code: .normalClosure, reason: "x", now: 100 * Self.s) == .sendClose(.normalClosure, reason: "x"))
    }

    // MARK: Failures

    @Test func aProtocolErrorFailsWithItsCodeOnlyWhileOpen() {
        var m = machine()
        #expect(m.protocolError(code: .protocolError, reason: "bad frame") == .fail(.protocolError, reason: "bad frame", lingerNanos: nil))
        #expect(m.isEnded && m.closeCode == .protocolError)
        var n = machine()
        _ = n.close(code: .normalClosure, reason: "", now: 100 * Self.s)
        #expect(n.protocolError(code: .messageTooBig, reason: "big") == .fail(nil, reason: "big", lingerNanos: nil),
                "no second close frame")
        #expect(n.closeCode == .normalClosure)
    }

    @Test func aSlowConsumerFailsWith1008AndLingersForTheCloseTimeout() {
        var m = machine()
        _ = m.close(code: .normalClosure, reason: "", now: 100 * Self.s)
        #expect(m.sendQueueOverflow() == .fail(nil, reason: "send queue full", lingerNanos: 2 * Self.s))
        #expect(m.closeCode == .policyViolation, "the overflow is what the disconnect hook reports")
        var n = machine()
        #expect(n.sendQueueOverflow() == .fail(.policyViolation, reason: "send queue full", lingerNanos: 2 * Self.s))
        #expect(n.sendQueueOverflow() == .none)
    }

    @Test func aVanishedPeerIsReportedAs1006() {
        var m = machine()
        #expect(m.peerVanished() == .abort(nil, reason: "connection lost"))
        #expect(m.closeCode == .abnormal && m.closeReason == "connection lost")
        var n = machine()
        _ = n.close(code: WebSocketCloseCode(rawValue: 4000), reason: "bye", now: 100 * Self.s)
        _ = n.peerVanished()
        #expect(n.closeCode?.rawValue == 4000, "our close code stays")
    }

    @Test func aForcedCloseSends1001OnlyIfNoCloseWentOut() {
        var m = machine()
        #expect(m.forceClose() == .abort(.goingAway, reason: "server shutting down"))
        #expect(m.closeCode == .goingAway)
        var n = machine()
        _ = n.close(code: .normalClosure, reason: "", now: 100 * Self.s)
        #expect(n.forceClose() == .abort(nil, reason: "server shutting down"))
    }

    @Test func afterTheEndNothingMoreHappens() {
        var m = machine()
        _ = m.peerVanished()
        #expect(!m.canSendData && !m.acceptsMessages && !m.holdsInput)
        #expect(m.close(code: .normalClosure, reason: "", now: 100 * Self.s) == .none)
        #expect(m.beginDrain(now: 100 * Self.s) == .none)
        #expect(m.closeAfterInflight(code: .normalClosure, reason: "", now: 100 * Self.s) == .none)
        m.callStarted()
        #expect(m.messageHandled() == .none)
        #expect(m.callFinished(now: 100 * Self.s) == .none)
        #expect(m.receivedClose(code: .normalClosure, reason: "") == .none)
        #expect(m.deadlinePassed(now: 200 * Self.s) == .abort(nil, reason: ""))
    }
}
