internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket

extension WebSocketConnection {
    /// Sends the reply for message `seq` to its recipients: the sender gets the reply form (with `id`)
    /// through the ordered reply queue when it is among them; everyone else gets the push form, encoded
    /// once and shared.
    ///
    /// The push keeps the sender's order too (DESIGN §8 "Order"): it starts now when every earlier
    /// message of this connection is answered, and otherwise waits in the reply queue as a
    /// `HeldDelivery` (a copy of the body) until the queue releases `seq`. Who it goes to is decided
    /// now, with this message's session headers applied.
    ///
    /// After the socket closed the sender's reply has nobody to go to, but the push still goes out, in
    /// order (see `backendCallDidComplete`).
    ///
    /// The reply's parts come as separate (borrowed) arguments, not bundled in a struct: a struct
    /// holding `Route.Deliver` (an enum with string and array payloads) was copied and destroyed
    /// through value witnesses on every message.
    ///
    /// `bodyIsUTF8`: the body is known to be valid UTF-8 (see `MessageCodec.encodeReply`).
    func deliverReply(seq: UInt64, command: String, id: String?, binary: Bool, bodyIsJSON: Bool, bodyIsUTF8: Bool = false,
                      deliver: Route.Deliver, body: UnsafeRawBufferPointer) {
        var senderGetsReply = false
        var target: DeliveryTarget?
        switch deliver {
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
            // After the session ended, `rooms` are those it had then: the delivery still goes out.
            let rooms = self.rooms
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
        if socketClosed { senderGetsReply = false }
        // `deliver: sender` (the hot path) has no target: these two branches are all it gains.
        var held: HeldDelivery?
        if let target {
            if replies.isOldest(seq) {
                startPush(target, command: command, body: body, bodyIsJSON: bodyIsJSON, binary: binary)
            } else {
                held = HeldDelivery(target: target, command: command, body: body, bodyIsJSON: bodyIsJSON, binary: binary)
            }
        }
        guard senderGetsReply else {
            complete(seq: seq, reply: nil, holding: held)
            return
        }
        if module.parser == .raw {
            // The raw format's reply is the body itself: framed straight from it, without a copy
            // into the scratch first.
            let opcode = MessageCodec.rawReplyOpcode(body: body, requestBinary: binary, bodyIsUTF8: bodyIsUTF8)
            completeReply(seq: seq, opcode: opcode, payload: body, holding: held)
            return
        }
        context.scratch.clear()
        let opcode = MessageCodec.encodeReply(parser: module.parser, command: command, id: id, body: body,
                                              bodyIsJSON: bodyIsJSON, requestBinary: binary, bodyIsUTF8: bodyIsUTF8,
                                              into: &context.scratch)
        completeFromScratch(seq: seq, opcode: opcode, holding: held)
    }

    /// Starts a push from this connection to `target` (never to the sender itself, which gets the
    /// reply form when it is a recipient).
    private func startPush(_ target: DeliveryTarget, command: String, body: UnsafeRawBufferPointer, bodyIsJSON: Bool, binary: Bool) {
        context.hub.push(target, except: [identity.key], command: command, data: body, dataIsJSON: bodyIsJSON, binary: binary,
                         from: context)
    }

    /// Starts a push that waited for earlier messages.
    private func startHeld(_ d: HeldDelivery) {
        d.body.withUnsafeBytes { startPush(d.target, command: d.command, body: $0, bodyIsJSON: d.bodyIsJSON, binary: d.binary) }
    }

    /// Answers message `seq` with an error in the wire format, in order.
    func replyError(seq: UInt64, command: String?, id: String?, error: GatewayReplyError) {
        let ctx = context
        ctx.scratch.clear()
        MessageCodec.encodeError(parser: module.parser, command: command, id: id, error: error, into: &ctx.scratch)
        completeFromScratch(seq: seq, opcode: .text)
    }

    /// The reply payload for `seq` is in `context.scratch`: `completeReply` with it.
    func completeFromScratch(seq: UInt64, opcode: WebSocketOpcode, holding held: HeldDelivery? = nil) {
        // Through a mutable access: a read access to a class's stored property around a closure
        // makes Swift copy the value first (a retain and a release of its storage per message).
        // Nothing under `completeReply` touches the scratch.
        context.scratch.withUnsafeMutableReadableBytes {
            completeReply(seq: seq, opcode: opcode, payload: UnsafeRawBufferPointer($0), holding: held)
        }
    }

    /// Writes the reply `payload` for `seq` now if it is next in line, otherwise keeps a framed copy
    /// until the earlier replies are out (with `held`, the delivery to others that waits for the same
    /// turn).
    func completeReply(seq: UInt64, opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, holding held: HeldDelivery?) {
        if socketClosed {
            // Nobody to write to; the queue still moves on, so held deliveries go out.
            complete(seq: seq, reply: nil, holding: held)
            return
        }
        if held == nil && replies.isNext(seq) {
            replies.skipImmediate(seq)
            writeFrame(opcode: opcode, payload: payload)
            return
        }
        if held == nil && replies.isOldest(seq) {
            // The usual case for a backend reply: nothing earlier is pending, so it is framed straight
            // into the send queue instead of into a buffer of its own, then the replies that finished
            // early behind it follow.
            writeFrame(opcode: opcode, payload: payload)
            complete(seq: seq, reply: nil)
            return
        }
        var framed = context.takeReplyBuffer(capacity: payload.count + WebSocketFrameEncoder.maxHeaderSize)
        WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: payload, into: &framed)
        complete(seq: seq, reply: framed, holding: held)
    }

    /// Records the outcome for `seq` (a framed reply, or nil for none, and the delivery it holds back)
    /// and starts the deliveries and writes the replies that are now in order.
    func complete(seq: UInt64, reply: ByteBuffer?, holding held: HeldDelivery? = nil) {
        if reply == nil && held == nil && replies.isNext(seq) {
            replies.skipImmediate(seq)
            return
        }
        let ctx = context
        replies.complete(seq, with: reply, holding: held, push: { startHeld($0) }) { framed in
            defer { ctx.recycleReplyBuffer(&framed) }
            writeFramed(framed)
        }
    }
}
