internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket
internal import Logging

/// Where a reply goes once its body is known, after the session changes the backend asked for.
struct ReplyOutcome {
    var command: String
    var id: String?
    var binary: Bool
    var bodyIsJSON: Bool
    var deliver: Route.Deliver
}

extension ClientConnection {
    /// Applies `Gateway-Set-User`, `Gateway-Join` and `Gateway-Leave` from a backend response to this
    /// connection's session. Returns the `Gateway-Close` request, if any (applied after delivery).
    func applySessionHeaders(_ r: BackendResponse) -> (WebSocketCloseCode, String)? {
        guard ws != nil else { return nil }
        if let u = r.header("gateway-set-user") {
            let v = Self.headerSafe(u).trimmedSpaces()
            context.sessions.setUser(self, v.isEmpty ? nil : v)
        }
        if let j = r.header("gateway-join") { context.sessions.join(self, Self.list(j)) }
        if let l = r.header("gateway-leave") { context.sessions.leave(self, Self.list(l)) }
        guard let c = r.header("gateway-close") else { return nil }
        // `4000 reason`: a code from the application range (or 1000) and an optional reason.
        let parts = c.trimmedSpaces().split(separator: " ", maxSplits: 1)
        var code = WebSocketCloseCode.normalClosure
        if let first = parts.first, let n = UInt16(first), n == 1000 || (3000...4999).contains(n) {
            code = WebSocketCloseCode(rawValue: n)
        } else {
            context.logger.warning("ignoring invalid close code in Gateway-Close: \(c) (use 1000 or 3000-4999)")
        }
        return (code, parts.count > 1 ? String(parts[1]) : "")
    }

    static func list(_ header: String) -> [String] {
        header.split(separator: ",").map { String($0).trimmedSpaces() }.filter { !$0.isEmpty }
    }

    /// Sends the reply for message `seq` to its recipients: the sender gets the reply form (with `id`)
    /// through the ordered reply queue when it is among them; everyone else gets the push form, encoded
    /// once and shared. The body is in `body`.
    func deliverReply(seq: UInt64, outcome o: ReplyOutcome, body: UnsafeRawBufferPointer, _ s: WebSocketSession) {
        var senderGetsReply = false
        var target: DeliveryTarget?
        switch o.deliver {
        case .sender:
            senderGetsReply = true
        case .none:
            break
        case .all:
            senderGetsReply = true
            target = .all
        case .others:
            target = .all
        case .senderRooms:
            senderGetsReply = !s.rooms.isEmpty
            if !s.rooms.isEmpty { target = .rooms(s.rooms) }
        case .room(let name):
            senderGetsReply = s.rooms.contains(name)
            target = .room(name)
        case .user(let u):
            senderGetsReply = s.user == u
            target = .user(u)
        case .connections(let ids):
            let keys = ids.compactMap { ConnectionKey(parsing: $0) }
            senderGetsReply = keys.contains(key)
            target = .connections(keys)
        }
        if let target {
            let frames = PushFrames(command: o.command, data: body, dataIsJSON: o.bodyIsJSON, binary: o.binary, parsers: context.runtime.parsers)
            context.hub.dispatch(Delivery(target: target, except: [key], frames: frames), from: context)
        }
        guard senderGetsReply else {
            complete(seq: seq, reply: nil, s)
            return
        }
        let ctx = context
        ctx.scratch.clear()
        let opcode = MessageCodec.encodeReply(parser: s.module.parser, command: o.command, id: o.id, body: body,
                                              bodyIsJSON: o.bodyIsJSON, requestBinary: o.binary, into: &ctx.scratch)
        completeFromScratch(seq: seq, opcode: opcode, s)
    }

    /// Fan-out for `POST <module path>`: the HTTP caller is not a WebSocket, so every recipient gets
    /// the push form.
    func deliverPush(command: String, body: UnsafeRawBufferPointer, bodyIsJSON: Bool, deliver: Route.Deliver) {
        let target: DeliveryTarget?
        switch deliver {
        case .sender, .none, .senderRooms: target = nil
        case .all, .others: target = .all
        case .room(let name): target = .room(name)
        case .user(let u): target = .user(u)
        case .connections(let ids): target = .connections(ids.compactMap { ConnectionKey(parsing: $0) })
        }
        guard let target else { return }
        let frames = PushFrames(command: command, data: body, dataIsJSON: bodyIsJSON, binary: false, parsers: context.runtime.parsers)
        context.hub.dispatch(Delivery(target: target, except: [], frames: frames), from: context)
    }

    /// `Gateway-Close`: close once every reply already started has been written.
    func closeAfterReplies(code: WebSocketCloseCode, reason: String, _ s: WebSocketSession) {
        s.pendingClose = (code, reason)
        tcp.pauseReading()
        s.paused = true
        if s.inflight == 0 { closeWebSocket(code: code, reason: reason) }
    }
}
