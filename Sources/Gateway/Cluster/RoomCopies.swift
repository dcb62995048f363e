internal import GatewayRedis

/// Which copy of a delivery to several rooms a node delivers (DESIGN §8: each recipient once).
///
/// Such a delivery (`deliver: room` from a member of several rooms) is published on each room's
/// channel, and a node with members in several of them receives one copy per room it is subscribed
/// to. It delivers the copy of the first of the delivery's rooms it was subscribed to *when Redis
/// ran the publish*, and drops the others. A subscriber connection tells exactly that: Redis
/// answers each `SUBSCRIBE` and `UNSUBSCRIBE` in the same stream as the messages, so the
/// confirmations read before a copy are the subscriptions that were in force when it was published,
/// provided the copies of one delivery on one instance are published in one go (ClusterNode
/// publishes them in one script run, which no other client's command can split).
///
/// The rooms the node *wants* are no guide: they change when a `SUBSCRIBE` is sent, while the
/// messages already on their way (in the socket, or published before Redis runs it) carry no copy
/// for the new room. Judged by them, every such message was dropped for the members of the other
/// rooms; and an `UNSUBSCRIBE` sent between two copies of one message delivered it twice.
///
/// One set per Redis instance (shard), each fed by that instance's subscriber connection. Across
/// instances the streams are not ordered against each other, so for rooms on different instances
/// the choice is only as good as the timing of the two connections.
struct RoomCopies {
    /// Per instance, the channels Redis has confirmed and not yet confirmed unsubscribed.
    private var subscribed: [Set<String>]

    init(instances: Int) {
        subscribed = Array(repeating: [], count: instances)
    }

    /// A confirmation read on instance `shard`'s subscriber connection.
    mutating func confirmed(_ c: RedisSubscriptionConfirmation, shard: Int) {
        guard subscribed.indices.contains(shard) else { return }
        switch c.kind {
        case .subscribe: subscribed[shard].insert(c.name)
        case .unsubscribe: subscribed[shard].remove(c.name)
        case .psubscribe, .punsubscribe: break
        }
    }

    /// Instance `shard`'s subscriber connection went down: none of its subscriptions holds any more
    /// (they are confirmed again after the reconnect, before any message).
    mutating func lost(shard: Int) {
        guard subscribed.indices.contains(shard) else { return }
        subscribed[shard].removeAll()
    }

    /// Whether the copy that arrived on `channel` is the one to deliver, for a delivery published on
    /// `channels` (its rooms' channels, in the delivery's order), `shard(c)` being a channel's
    /// instance. The channel a copy arrived on counts as subscribed whatever the sets say.
    func delivers(copyOn channel: String, of channels: [String], shard: (String) -> Int) -> Bool {
        for c in channels {
            if c == channel { return true }
            let s = shard(c)
            if subscribed.indices.contains(s) && subscribed[s].contains(c) { return false }
        }
        return true
    }
}
