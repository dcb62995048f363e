internal import GatewayBuffers
internal import GatewayJSON

/// One node's `/v1/stats` figures, summed over its loops: what the node answers for itself, what a
/// node sends another that asks (DESIGN §8: `/v1/stats` answers for the whole cluster), and what the
/// asker sums into the cluster's figures. Room and user names travel too, so that the cluster's
/// `rooms` and `users` count each name once however many nodes have members.
struct NodeStats: Sendable, Equatable {
    var id: String?
    var engine = ""
    var uptimeSeconds = 0
    var draining = false
    var open = 0, websockets = 0, accepted = 0
    var messagesReceived = 0, messagesSent = 0, fanoutDeliveries = 0
    var bytesReceived: UInt64 = 0, bytesSent: UInt64 = 0, bytesQueued = 0
    var backendInFlight = 0, backendCalls = 0
    var hooksPending = 0, hooksDelivered = 0, hookFailures = 0, hooksDropped = 0
    var slowConsumersClosed = 0
    var rooms: Set<String> = []
    var users: Set<String> = []

    init() {}

    /// Sums a node's loop reports.
    init(reports: [LoopReport], id: String?, engine: String, uptimeSeconds: Int, draining: Bool) {
        self.id = id
        self.engine = engine
        self.uptimeSeconds = uptimeSeconds
        self.draining = draining
        for r in reports {
            let s = r.snapshot, m = s.metrics
            open += s.openConnections
            websockets += s.websockets
            backendInFlight += s.backendInFlight
            hooksPending += s.hooksPending
            bytesQueued += s.queuedBytes
            bytesReceived &+= s.bytesReceived
            bytesSent &+= s.bytesSent
            accepted += m.connectionsAccepted
            messagesReceived += m.messagesReceived
            messagesSent += m.messagesSent
            fanoutDeliveries += m.fanoutDeliveries
            backendCalls += m.backendCalls.reduce(0) { $0 + $1.reduce(0, +) }
            hooksDelivered += m.hooksDelivered
            hookFailures += m.hookFailures
            hooksDropped += m.hooksDropped
            slowConsumersClosed += m.slowConsumersClosed
            rooms.formUnion(r.rooms)
            users.formUnion(r.users)
        }
    }

    /// Adds another node's figures (counts add up; names are a union).
    mutating func add(_ o: NodeStats) {
        open += o.open
        websockets += o.websockets
        accepted += o.accepted
        messagesReceived += o.messagesReceived
        messagesSent += o.messagesSent
        fanoutDeliveries += o.fanoutDeliveries
        bytesReceived &+= o.bytesReceived
        bytesSent &+= o.bytesSent
        bytesQueued += o.bytesQueued
        backendInFlight += o.backendInFlight
        backendCalls += o.backendCalls
        hooksPending += o.hooksPending
        hooksDelivered += o.hooksDelivered
        hookFailures += o.hookFailures
        hooksDropped += o.hooksDropped
        slowConsumersClosed += o.slowConsumersClosed
        rooms.formUnion(o.rooms)
        users.formUnion(o.users)
    }

    /// Writes the counted members of the `/v1/stats` body (from `connections` to
    /// `slowConsumersClosed`), after a comma: the same shape for a node and for the cluster.
    func writeFigures(into b: inout ByteBuffer) {
        b.write(string: ",\"connections\":{\"open\":\(open),\"websockets\":\(websockets),\"accepted\":\(accepted)}")
        b.write(string: ",\"rooms\":\(rooms.count),\"users\":\(users.count)")
        b.write(string: ",\"messages\":{\"received\":\(messagesReceived),\"sent\":\(messagesSent),\"fanoutDeliveries\":\(fanoutDeliveries)}")
        b.write(string: ",\"bytes\":{\"received\":\(bytesReceived),\"sent\":\(bytesSent),\"queued\":\(bytesQueued)}")
        b.write(string: ",\"backend\":{\"inFlight\":\(backendInFlight),\"calls\":\(backendCalls)}")
        b.write(string: ",\"hooks\":{\"pending\":\(hooksPending),\"delivered\":\(hooksDelivered),\"failedAttempts\":\(hookFailures),\"dropped\":\(hooksDropped)}")
        b.write(string: ",\"slowConsumersClosed\":\(slowConsumersClosed)")
    }

    /// A node's entry in the cluster's `nodes` list: id, engine, uptime, draining, then its figures.
    func writeNodeEntry(into b: inout ByteBuffer) {
        writeOpenEntry(into: &b)
        b.write(byte: UInt8(ascii: "}"))
    }

    /// The entry without its closing brace.
    private func writeOpenEntry(into b: inout ByteBuffer) {
        b.write(string: "{\"id\":")
        JSONWriter.writeString(id ?? "", into: &b)
        b.write(string: ",\"engine\":")
        JSONWriter.writeString(engine, into: &b)
        b.write(string: ",\"uptimeSeconds\":\(uptimeSeconds),\"draining\":\(draining)")
        writeFigures(into: &b)
    }

    // MARK: Wire form (a node's answer to another)

    /// The answer a node sends: its entry plus the room and user names.
    var json: [UInt8] {
        var b = ByteBuffer(capacity: 512)
        writeOpenEntry(into: &b)
        b.write(string: ",\"roomNames\":")
        AdminJSON.writeStrings(rooms.sorted(), into: &b)
        b.write(string: ",\"userNames\":")
        AdminJSON.writeStrings(users.sorted(), into: &b)
        b.write(byte: UInt8(ascii: "}"))
        return b.readableArray
    }

    /// Reads what `json` wrote; nil for anything else.
    init?(json bytes: [UInt8]) {
        let parsed = bytes.withUnsafeBytes { raw -> JSONValue? in
            do throws(JSONError) { return try JSONValue.parse(raw) } catch { return nil }
        }
        guard let v = parsed, let id = v["id"]?.stringValue, let c = v["connections"], let m = v["messages"],
            let by = v["bytes"], let be = v["backend"], let h = v["hooks"]
        else { return nil }
        func int(_ x: JSONValue?) -> Int { x?.intValue ?? 0 }
        self.id = id
        engine = v["engine"]?.stringValue ?? ""
        uptimeSeconds = int(v["uptimeSeconds"])
        draining = v["draining"]?.boolValue ?? false
        open = int(c["open"])
        websockets = int(c["websockets"])
        accepted = int(c["accepted"])
        messagesReceived = int(m["received"])
        messagesSent = int(m["sent"])
        fanoutDeliveries = int(m["fanoutDeliveries"])
        bytesReceived = UInt64(max(0, int(by["received"])))
        bytesSent = UInt64(max(0, int(by["sent"])))
        bytesQueued = int(by["queued"])
        backendInFlight = int(be["inFlight"])
        backendCalls = int(be["calls"])
        hooksPending = int(h["pending"])
        hooksDelivered = int(h["delivered"])
        hookFailures = int(h["failedAttempts"])
        hooksDropped = int(h["dropped"])
        slowConsumersClosed = int(v["slowConsumersClosed"])
        rooms = Set((v["roomNames"]?.arrayValue ?? []).compactMap(\.stringValue))
        users = Set((v["userNames"]?.arrayValue ?? []).compactMap(\.stringValue))
    }
}
