/// The counters of one event loop, merged into one total after the run. Field meanings follow
/// wsload's report so the two tools' numbers line up.
struct WorkerStats {
    var connectionsOK: UInt64 = 0
    var connectionsFailed: UInt64 = 0
    /// rtt: messages sent (whole run) and data messages received (whole run).
    var sent: UInt64 = 0
    var received: UInt64 = 0
    /// rtt: replies received in the measured window. fanout: measured deliveries.
    var receivedMeasured: UInt64 = 0
    /// Bytes the connections (not the publisher) received after their handshake: frame headers and
    /// payloads as sent, so compressed when permessage-deflate is on (TLS: before decryption's
    /// overhead, i.e. plaintext frames).
    var bytesIn: UInt64 = 0
    /// rtt open loop, all for messages due in the measured window: slots of the open connections
    /// (what should have been sent and answered), sends that went out (on time, late or held),
    /// sends held back by `--max-in-flight` (they went when a reply freed a slot, or never), and
    /// sends that were free to go but left more than 1 ms after their due time (client lateness).
    var openLoopExpected: UInt64 = 0
    var openLoopSent: UInt64 = 0
    var openLoopHeld: UInt64 = 0
    var openLoopLate: UInt64 = 0
    /// rtt: data messages that arrived with nothing outstanding.
    var unsolicited: UInt64 = 0
    /// fanout: messages without a TS marker (e.g. welcome messages).
    var noTimestamp: UInt64 = 0
    /// fanout: TS markers found / not in the publish log / for measured publishes after the grace period.
    var deliveries: UInt64 = 0
    var unknownTimestamp: UInt64 = 0
    var late: UInt64 = 0
    var pingsReceived: UInt64 = 0
    var pongsReceived: UInt64 = 0
    var pingsSent: UInt64 = 0
    /// Close frames the server started, and replies to ours.
    var closeReceived: UInt64 = 0
    var closeReplies: UInt64 = 0
    /// Closing handshakes given up after 2 s without the server's close or EOF (not an error, as in wsload).
    var closeTimeouts: UInt64 = 0
    /// Closing handshakes the server ended with EOF but no close frame (not an error, as in wsload).
    var closesUnanswered: UInt64 = 0
    /// handshakes: upgrades completed (whole run) and in the measured window.
    var handshakes: UInt64 = 0
    var handshakesMeasured: UInt64 = 0
    /// fanout: publishes that failed (HTTP status not 2xx, connection lost, log full).
    var publishErrors: UInt64 = 0
    var errConnect: UInt64 = 0
    var errHandshake: UInt64 = 0
    var errTimeout: UInt64 = 0
    var errProtocol: UInt64 = 0
    var errEOF: UInt64 = 0
    var errIO: UInt64 = 0
    /// Codes of server-initiated close frames (1005 for an empty close payload).
    var closeCodes: [UInt16: UInt64] = [:]
    /// The HTTP status of the last failed handshake (0 if none was read).
    var lastHandshakeStatus = 0
    /// The first error seen, for the summary.
    var firstError: String?

    /// Errors that make the run fail (exit 1), as wsload counts them.
    var errors: UInt64 {
        errConnect + errHandshake + errTimeout + errProtocol + errEOF + errIO + closeReceived
    }

    /// Adds `other` into this total.
    mutating func merge(_ other: WorkerStats) {
        connectionsOK += other.connectionsOK
        connectionsFailed += other.connectionsFailed
        sent += other.sent
        received += other.received
        receivedMeasured += other.receivedMeasured
        bytesIn += other.bytesIn
        openLoopExpected += other.openLoopExpected
        openLoopSent += other.openLoopSent
        openLoopHeld += other.openLoopHeld
        openLoopLate += other.openLoopLate
        unsolicited += other.unsolicited
        noTimestamp += other.noTimestamp
        deliveries += other.deliveries
        unknownTimestamp += other.unknownTimestamp
        late += other.late
        pingsReceived += other.pingsReceived
        pongsReceived += other.pongsReceived
        pingsSent += other.pingsSent
        closeReceived += other.closeReceived
        closeReplies += other.closeReplies
        closeTimeouts += other.closeTimeouts
        closesUnanswered += other.closesUnanswered
        handshakes += other.handshakes
        handshakesMeasured += other.handshakesMeasured
        publishErrors += other.publishErrors
        errConnect += other.errConnect
        errHandshake += other.errHandshake
        errTimeout += other.errTimeout
        errProtocol += other.errProtocol
        errEOF += other.errEOF
        errIO += other.errIO
        for (code, n) in other.closeCodes { closeCodes[code, default: 0] += n }
        if other.lastHandshakeStatus != 0 { lastHandshakeStatus = other.lastHandshakeStatus }
        if firstError == nil { firstError = other.firstError }
    }
}
