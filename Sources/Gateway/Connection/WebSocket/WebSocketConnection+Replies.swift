internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket

/// Where a reply goes once its body is known, after the session changes the backend asked for.
struct ReplyOutcome {
    var command: String
    var id: String?
    var binary: Bool
    var bodyIsJSON: Bool
    var deliver: Route.Deliver
}

extension WebSocketConnection {
    /// Sends the reply for message `seq` to its recipients: the sender gets the reply form (with `id`)
    /// through the ordered reply queue when it is among them; everyone else gets the push form, encoded
    /// once and shared.
    func deliverReply(seq: UInt64, outcome o: ReplyOutcome, body: UnsafeRawBufferPointer) {
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
            let rooms = handle?.rooms ?? []
            senderGetsReply = !rooms.isEmpty
            if !rooms.isEmpty { target = .rooms(rooms) }
        case .room(let name):
            senderGetsReply = handle?.rooms.contains(name) ?? false
            target = .room(name)
        case .user(let u):
            senderGetsReply = handle?.user == u
            target = .user(u)
        case .connections(let ids):
            let keys = ids.compactMap { ConnectionKey(parsing: $0) }
            senderGetsReply = keys.contains(identity.key)
            target = .connections(keys)
        }
        if let target {
            context.hub.push(
                target, except: [identity.key], command: o.command, data: body, dataIsJSON: o.bodyIsJSON, binary: o.binary,
                from: context)
        }
        guard senderGetsReply else {
            complete(seq: seq, reply: nil)
            return
        }
        let ctx = context
        ctx.scratch.clear()
        let opcode = MessageCodec.encodeReply(parser: module.parser, command: o.command, id: o.id, body: body,
                                              bodyIsJSON: o.bodyIsJSON, requestBinary: o.binary, into: &ctx.scratch)
        completeFromScratch(seq: seq, opcode: opcode)
    }

    /// Answers message `seq` with an error in the wire format, in order.
    func replyError(seq: UInt64, command: String?, id: String?, error: GatewayReplyError) {
        let ctx = context
        ctx.scratch.clear()
        MessageCodec.encodeError(parser: module.parser, command: command, id: id, error: error, into: &ctx.scratch)
        completeFromScratch(seq: seq, opcode: .text)
    }

    /// The reply payload for `seq` is in `context.scratch`: write it now if it is next in line,
    /// otherwise keep a framed copy until the earlier replies are out.
    func completeFromScratch(seq: UInt64, opcode: WebSocketOpcode) {
        let ctx = context
        if replies.isNext(seq) {
            replies.skipImmediate(seq)
            ctx.scratch.withUnsafeReadableBytes { writeFrame(opcode: opcode, payload: $0) }
            return
        }
        if replies.isOldest(seq) {
            // The usual case for a backend reply: nothing earlier is pending, so it is framed straight
            // into the send queue instead of into a buffer of its own, then the replies that finished
            // early behind it follow.
            ctx.scratch.withUnsafeReadableBytes { writeFrame(opcode: opcode, payload: $0) }
            complete(seq: seq, reply: nil)
            return
        }
        var framed = ctx.takeReplyBuffer(capacity: ctx.scratch.readableBytes + WebSocketFrameEncoder.maxHeaderSize)
        ctx.scratch.withUnsafeReadableBytes {
            WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: $0, into: &framed)
        }
        complete(seq: seq, reply: framed)
    }

    /// Records the outcome for `seq` (a framed reply, or nil for none) and writes what is in order.
    func complete(seq: UInt64, reply: ByteBuffer?) {
        if reply == nil && replies.isNext(seq) {
            replies.skipImmediate(seq)
            return
        }
        let ctx = context
        replies.complete(seq, with: reply) { framed in
            defer { ctx.recycleReplyBuffer(&framed) }
            writeFramed(framed)
        }
    }
}
