internal import GatewayIO

// A subscriber connection keeps the set of channels and patterns it wants; the set, not a queue,
// is what survives a drop, so a reconnect subscribes to exactly what is wanted now.
extension RedisConnection {
    /// Channels this subscriber wants (confirmed or not).
    public var subscribedChannels: Set<String> { channels }

    /// Patterns this subscriber wants (confirmed or not).
    public var subscribedPatterns: Set<String> { patterns }

    /// Subscribes to `names` (those not wanted already). Sent at once when up, else after the
    /// connection comes up; confirmations arrive through the delegate.
    /// - Throws: `wrongRole` on a command connection, `closed` after `close()`.
    public func subscribe(_ names: [String]) throws(RedisError) {
        try change(&channels, adding: names, command: "SUBSCRIBE")
    }

    /// Stops wanting `names`. Messages already on their way may still arrive.
    public func unsubscribe(_ names: [String]) throws(RedisError) {
        try change(&channels, removing: names, command: "UNSUBSCRIBE")
    }

    /// Subscribes to the glob patterns `names` (`PSUBSCRIBE`); messages carry the matching pattern.
    public func psubscribe(_ names: [String]) throws(RedisError) {
        try change(&patterns, adding: names, command: "PSUBSCRIBE")
    }

    /// Stops wanting the patterns `names`.
    public func punsubscribe(_ names: [String]) throws(RedisError) {
        try change(&patterns, removing: names, command: "PUNSUBSCRIBE")
    }

    private func change(_ set: inout Set<String>, adding names: [String], command: String) throws(RedisError) {
        guard role == .subscriber else { throw .wrongRole }
        guard !closed else { throw .closed }
        let new = names.filter { set.insert($0).inserted }
        sendIfUp(command, new)
    }

    private func change(_ set: inout Set<String>, removing names: [String], command: String) throws(RedisError) {
        guard role == .subscriber else { throw .wrongRole }
        guard !closed else { throw .closed }
        // Never an UNSUBSCRIBE without names: that would mean "everything".
        let gone = names.filter { set.remove($0) != nil }
        sendIfUp(command, gone)
    }

    private func sendIfUp(_ command: String, _ names: [String]) {
        guard !names.isEmpty, state == .up, let tcp, tcp.isWritable else { return }
        write(RedisCommand([command] + names), to: tcp)
    }

    /// Subscribes to everything wanted, on a connection that just came up.
    func resubscribe(_ c: TCPConnection) {
        if !channels.isEmpty { write(RedisCommand(["SUBSCRIBE"] + channels.sorted()), to: c) }
        if !patterns.isEmpty { write(RedisCommand(["PSUBSCRIBE"] + patterns.sorted()), to: c) }
    }

    /// A reply on a subscriber connection: a message, a confirmation or an error.
    func pushed(_ reply: RedisReply) {
        guard case .array(let items?) = reply, case .bulk(let kind?)? = items.first else {
            if case .error(let message) = reply {
                counters.errors += 1
                lastError = "Redis answered a subscription with: \(message)"
            }
            return
        }
        switch (String(decoding: kind, as: UTF8.self), items.count) {
        case ("message", 3):
            guard case .bulk(let channel?) = items[1], case .bulk(let payload?) = items[2] else { return }
            counters.messages += 1
            delegate?.redisConnection(self, didReceive: RedisPushMessage(channel: channel, payload: payload))
        case ("pmessage", 4):
            guard case .bulk(let pattern?) = items[1], case .bulk(let channel?) = items[2],
                  case .bulk(let payload?) = items[3] else { return }
            counters.messages += 1
            delegate?.redisConnection(self, didReceive: RedisPushMessage(channel: channel, pattern: pattern, payload: payload))
        case (let k, 3):
            guard let kind = RedisSubscriptionConfirmation.Kind(rawValue: k), case .integer(let count) = items[2] else { return }
            let name = items[1].string ?? ""
            delegate?.redisConnection(self, didConfirm: RedisSubscriptionConfirmation(kind: kind, name: name, count: Int(count)))
        default:
            break
        }
    }
}
