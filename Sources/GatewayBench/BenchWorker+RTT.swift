internal import GatewayIO
internal import GatewayWebSocket

extension BenchWorker {
    /// Fills the connection's pipeline (`-p`) with requests.
    func startSending(_ client: BenchClient, _ connection: TCPConnection) {
        while client.inFlight < config.pipeline { sendRequest(client, connection) }
    }

    /// Renders the next message from the template and queues it as one masked text frame.
    @inline(__always)
    func sendRequest(_ client: BenchClient, _ connection: TCPConnection) {
        let ts = MonotonicClock.now()
        let n = config.message.render(into: scratch, seq: client.seq, conn: UInt64(client.index), ts: ts)
        var slot = client.ringHead + client.inFlight
        if slot >= config.pipeline { slot -= config.pipeline }
        client.sentAt[slot] = ts
        client.inFlight += 1
        client.seq &+= 1
        let key = random.maskingKey()
        let payload = UnsafeRawBufferPointer(start: scratch, count: n)
        connection.write { WebSocketFrameEncoder.writeFrame(opcode: .text, payload: payload, maskingKey: key, into: &$0) }
        stats.sent &+= 1
    }

    /// A data message on an rtt connection: it answers the oldest outstanding request (whatever it
    /// contains, as in wsload). Records the latency inside the window and sends the next request
    /// while traffic flows.
    @inline(__always)
    func rttReply(_ client: BenchClient, _ connection: TCPConnection, now: UInt64) {
        guard client.inFlight > 0 else {
            stats.unsolicited &+= 1
            return
        }
        let sent = client.sentAt[client.ringHead]
        client.ringHead += 1
        if client.ringHead == config.pipeline { client.ringHead = 0 }
        client.inFlight -= 1
        let phase = control.phase
        if phase == .measure {
            stats.receivedMeasured &+= 1
            latency.record(now &- sent)
        }
        if phase == .warmup || phase == .measure { sendRequest(client, connection) }
    }
}
