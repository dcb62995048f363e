/// The other nodes as this node's heartbeat last read them, and what one read changes (DESIGN §8:
/// a node that misses its heartbeats for `nodeTimeoutSeconds` is lost). Sans-IO: `ClusterHeartbeat`
/// does the Redis round trips (`SMEMBERS`, then `MGET` and `PTTL` of the members' keys) and acts on
/// the `Change` this returns; the rules live here, where a unit test can drive them.
struct NodeView: Sendable {
    /// Another node as the last read saw it.
    struct Peer: Equatable, Sendable {
        /// Its record.
        var record: NodeRecord
        /// How long before that read it last wrote its record, on Redis' clock (from the key's TTL).
        var ageMs: Int
    }

    /// One read: the members of the node set other than this node, and for each (same order) its
    /// record's bytes (nil: the key is gone) and the key's `PTTL` (-2 gone, -1 no expiry).
    struct Read: Sendable {
        var ids: [String]
        var records: [[UInt8]?]
        var ttls: [Int64]
    }

    /// What a read changed.
    struct Change: Equatable, Sendable {
        /// Listed now, not before.
        var joined: [String] = []
        /// Listed before, no longer in the set (left, or declared lost by another node).
        var departed: [String] = []
        /// In the set with their key gone: they missed their heartbeats for the whole timeout.
        /// The heartbeat takes each out of the set; the node whose `SREM` wins declares it lost.
        var expired: [String] = []
        /// Records that do not decode (a node of another release): ignored.
        var undecodable: [String] = []
        /// Read again after this many ms: a key expires before the next beat (a late node), so its
        /// loss is noticed on time rather than up to a beat later. nil: at the next beat.
        var recheckAfterMs: Int?
    }

    /// The timeout a key is written with.
    let timeoutMs: Int
    /// The time between beats (a third of the timeout).
    let periodMs: Int
    /// The other nodes, by id, as of the last complete read.
    private(set) var peers: [String: Peer] = [:]

    init(timeoutMs: Int, periodMs: Int) {
        self.timeoutMs = timeoutMs
        self.periodMs = periodMs
    }

    /// Whether `peer` missed a beat: a live node writes every period, so more than one and a half
    /// periods since its last record means it is late (`degraded` in `/v1/cluster`).
    func isLate(_ peer: Peer) -> Bool { peer.ageMs > periodMs * 3 / 2 }

    /// Takes a complete read as the new view.
    mutating func apply(_ read: Read) -> Change {
        var change = Change()
        var next: [String: Peer] = [:]
        var soonestExpiry = Int64.max
        for (i, id) in read.ids.enumerated() where i < read.records.count && i < read.ttls.count {
            guard let bytes = read.records[i] else {
                change.expired.append(id)
                continue
            }
            let record: NodeRecord
            do throws(NodeRecord.DecodeError) {
                record = try NodeRecord.decode(bytes)
            } catch {
                change.undecodable.append(id)
                continue
            }
            let ttl = read.ttls[i]
            // -2: expired between MGET and PTTL (look again at once); -1: no TTL (not written by a
            // gateway; never expires, so never lost).
            if ttl == -2 { soonestExpiry = 0 } else if ttl >= 0 { soonestExpiry = min(soonestExpiry, ttl) }
            next[id] = Peer(record: record, ageMs: ttl >= 0 ? max(0, timeoutMs - Int(ttl)) : 0)
        }
        change.joined = next.keys.filter { peers[$0] == nil }.sorted()
        change.departed = peers.keys.filter { next[$0] == nil && !change.expired.contains($0) }.sorted()
        peers = next
        if soonestExpiry < Int64(periodMs) { change.recheckAfterMs = Int(soonestExpiry) + 20 }
        return change
    }
}
