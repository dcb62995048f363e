package import GatewayIO

/// What one loop knows about backend host names: each name's addresses and how long they hold
/// (the TTL clamped to the settings' floor and ceiling), when to ask again, short-lived negative
/// answers, the rotation of new connections over the addresses, and the addresses that just
/// refused a connection.
///
/// Sans-IO: it is told the time (loop nanoseconds) and what the resolver answered, and it says what
/// to do (use this address, wait, query now, fail); `DNSResolver` does the querying. Lookups cost a
/// dictionary probe and no allocation, and only new connections look anything up: calls on open
/// keep-alive connections never reach the cache.
package struct DNSCache {
    /// What a lookup for a new connection finds.
    package enum Lookup: Equatable, Sendable {
        /// Connect to this address (the next one in the rotation).
        case address(SocketAddress)
        /// An answer is on its way (a query is in flight, or a re-resolution after connect failures
        /// is due): wait for it.
        case pending
        /// Nothing is known, or what was known ran out unused: query, then wait.
        case needsQuery
        /// The name did not resolve, and that answer is still cached: the reason, from c-ares.
        case failed(String)
    }

    /// One name's state.
    struct Entry {
        /// The addresses of the last good answer, in the resolver's order, without duplicates.
        /// Empty for a negative answer, or before the first answer.
        var hosts: [SocketAddress.Host] = []
        /// When the answer runs out (the negative answer, for a failed one).
        var expiresAt: UInt64 = 0
        /// When the entry next needs attention: a refresh before expiry, a retry after a failed
        /// refresh, a postponed re-resolution, or the expiry itself.
        var refreshAt: UInt64 = 0
        /// Why the name did not resolve (a negative answer, while `hosts` is empty).
        var error: String?
        /// A query for the name is in flight.
        var querying = false
        /// When the last query began: re-resolutions asked for by connect failures come at most
        /// once per `minTTL`.
        var lastQueryAt: UInt64 = 0
        /// A connect failure asked for a re-resolution that the rate limit postponed to `refreshAt`.
        var wantsQuery = false
        /// Refreshes that failed in a row while the answer was still valid (the retry interval
        /// doubles with each).
        var failedRefreshes = 0
        /// Index into `hosts` of the next new connection's address.
        var next = 0
        /// Addresses (with the port) that refused a connection recently; skipped by the rotation
        /// while another address is not marked.
        var marks: [Mark] = []
    }

    /// An address that refused a connection, until when it is avoided.
    struct Mark {
        var host: SocketAddress.Host
        var port: UInt16
        var until: UInt64
    }

    /// The floor of a positive answer's lifetime, in nanoseconds (`DNSSettings.minTtlSeconds`).
    package let minTTL: UInt64
    /// The ceiling of a positive answer's lifetime, in nanoseconds (`DNSSettings.maxTtlSeconds`).
    package let maxTTL: UInt64
    /// How long a failure is remembered. 1 s: long enough that a storm of calls for a name that
    /// does not resolve costs one query a second, short enough that a name that appears (a service
    /// being started) is used within a second.
    package let negativeTTL: UInt64 = 1_000_000_000
    /// How long an address that refused a connection is avoided while the name has others. 5 s:
    /// a burst of new connections does not try a dead instance again, and a restarted one gets
    /// traffic back within seconds (it is tried again once the mark runs out, or at once when every
    /// address is marked).
    package let markNanos: UInt64 = 5_000_000_000
    /// Entries by name, as written in the URL.
    private(set) var entries: [String: Entry] = [:]

    /// An empty cache with the TTL clamps of `settings`.
    package init(settings: DNSSettings) {
        minTTL = UInt64(max(1, settings.minTtlSeconds)) * 1_000_000_000
        maxTTL = UInt64(max(settings.minTtlSeconds, settings.maxTtlSeconds)) * 1_000_000_000
    }

    // MARK: Lookups

    /// What a new connection to `name`:`port` should do at `now`. An address is taken from the
    /// rotation (the next call gets the next address), skipping marked ones while an unmarked one
    /// exists. An answer past its TTL is still used while its refresh is in flight, so a call never
    /// waits for the refresh of a name that has an answer.
    package mutating func lookup(_ name: String, port: UInt16, now: UInt64) -> Lookup {
        guard var e = entries[name] else { return .needsQuery }
        if e.hosts.isEmpty {
            if e.querying { return .pending }
            if let why = e.error, now < e.expiresAt { return .failed(why) }
            return .needsQuery
        }
        guard now < e.expiresAt || e.querying else {
            // Ran out with no refresh in flight (the name was not in use): the answer is not
            // trusted any more; the call waits for a new one.
            entries[name] = nil
            return .needsQuery
        }
        let host: SocketAddress.Host
        if let i = firstUnmarked(e, port: port, now: now) {
            host = e.hosts[i]
            e.next = (i + 1) % e.hosts.count
        } else {
            // Every address refused a connection lately. A re-resolution is coming: wait for it
            // rather than knock again at an address that just refused. Otherwise try them anyway,
            // in turn (the backend may be back).
            if e.querying || e.wantsQuery { return .pending }
            let i = e.next % e.hosts.count
            host = e.hosts[i]
            e.next = (i + 1) % e.hosts.count
        }
        entries[name] = e
        return .address(SocketAddress(host: host, port: port))
    }

    private func firstUnmarked(_ e: Entry, port: UInt16, now: UInt64) -> Int? {
        let n = e.hosts.count
        for k in 0..<n {
            let i = (e.next + k) % n
            if !e.marks.contains(where: { $0.host == e.hosts[i] && $0.port == port && $0.until > now }) { return i }
        }
        return nil
    }

    /// Whether `host` is among `name`'s current addresses (false for a negative answer or an unknown
    /// name): connections to an address that is no longer listed are retired.
    package func lists(_ name: String, _ host: SocketAddress.Host) -> Bool {
        entries[name]?.hosts.contains(host) ?? false
    }

    /// Whether `name` has addresses to connect to (a good answer, even one being refreshed).
    package func hasAnswer(_ name: String) -> Bool {
        !(entries[name]?.hosts.isEmpty ?? true)
    }

    /// How many connects a call to `name` may try before it fails: one per address, plus one after
    /// the re-resolution a failure starts (the backend may have moved), at most 4 so a name with
    /// many dead addresses does not hold calls for long.
    package func connectAttempts(_ name: String) -> Int {
        min(4, (entries[name]?.hosts.count ?? 0) + 1)
    }

    // MARK: Queries and answers

    /// Records that a query for `name` begins at `now`; false (nothing changed) when one is already
    /// in flight.
    package mutating func beginQuery(_ name: String, now: UInt64) -> Bool {
        var e = entries[name] ?? Entry()
        guard !e.querying else { return false }
        e.querying = true
        e.wantsQuery = false
        e.lastQueryAt = now
        entries[name] = e
        return true
    }

    /// Records a good answer: `hosts` (duplicates dropped) for `ttlSeconds` clamped to
    /// `[minTTL, maxTTL]`. The refresh is due after three quarters of that, which leaves a quarter
    /// of the TTL for the query. Marks on addresses still listed are kept.
    package mutating func record(_ name: String, hosts: [SocketAddress.Host], ttlSeconds: Int, now: UInt64) {
        var e = entries[name] ?? Entry()
        var unique: [SocketAddress.Host] = []
        for h in hosts where !unique.contains(h) { unique.append(h) }
        guard !unique.isEmpty else {
            recordFailure(name, error: "no address in the answer", now: now)
            return
        }
        let ttl = min(maxTTL, max(minTTL, UInt64(max(0, ttlSeconds)) &* 1_000_000_000))
        e.hosts = unique
        e.error = nil
        e.querying = false
        e.failedRefreshes = 0
        e.expiresAt = now &+ ttl
        e.refreshAt = now &+ ttl / 4 * 3
        e.marks.removeAll { m in m.until <= now || !unique.contains(m.host) }
        if e.next >= unique.count { e.next = 0 }
        entries[name] = e
    }

    /// Records a failed query. While the previous answer is still within its TTL it stays in use
    /// and the query is retried (after `minTTL`, doubling, never past the expiry); otherwise the
    /// name becomes a negative answer for `negativeTTL`.
    package mutating func recordFailure(_ name: String, error: String, now: UInt64) {
        var e = entries[name] ?? Entry()
        e.querying = false
        if !e.hosts.isEmpty && now < e.expiresAt {
            e.failedRefreshes += 1
            let backoff = minTTL << UInt64(min(e.failedRefreshes - 1, 16))
            e.refreshAt = min(e.expiresAt, now &+ backoff)
        } else {
            e.hosts = []
            e.marks = []
            e.error = error
            e.wantsQuery = false
            e.expiresAt = now &+ negativeTTL
            e.refreshAt = e.expiresAt
        }
        entries[name] = e
    }

    /// Marks `address` as having refused a connection at `now`, and says whether `name` should be
    /// queried again now (true: call `beginQuery`). A re-resolution is asked for on every failure
    /// (the backend may have moved) but happens at most once per `minTTL`; a later one is
    /// postponed to `refreshAt`, and new connections that find every address marked wait for it.
    package mutating func markFailed(_ name: String, address: SocketAddress, now: UInt64) -> Bool {
        guard var e = entries[name] else { return false }
        e.marks.removeAll { $0.until <= now || ($0.host == address.host && $0.port == address.port) }
        e.marks.append(Mark(host: address.host, port: address.port, until: now &+ markNanos))
        defer { entries[name] = e }
        if e.querying { return false }  // the answer in flight is as new as a re-resolution would be
        if now >= e.lastQueryAt &+ minTTL { return true }
        e.wantsQuery = true
        e.refreshAt = min(e.refreshAt, e.lastQueryAt &+ minTTL)
        return false
    }

    // MARK: Time

    /// The earliest time an entry needs attention (`due`), or nil when none does.
    package var nextDeadline: UInt64? {
        var earliest: UInt64?
        for e in entries.values where !e.querying {
            earliest = min(earliest ?? .max, e.refreshAt)
        }
        return earliest
    }

    /// The names to query now: the ones whose refresh is due and that are in use (`inUse` answers
    /// for a name), or that a connect failure asked about. A due name that is not in use is left to
    /// run out, then forgotten (a later call queries it again and waits); expired negative answers
    /// are forgotten.
    package mutating func due(now: UInt64, inUse: (String) -> Bool) -> [String] {
        var out: [String] = []
        var forget: [String] = []
        for (name, e) in entries where !e.querying && e.refreshAt <= now {
            if e.hosts.isEmpty {
                if now >= e.expiresAt { forget.append(name) }
            } else if e.wantsQuery || inUse(name) {
                out.append(name)
            } else if now >= e.expiresAt {
                forget.append(name)
            } else {
                entries[name]?.refreshAt = e.expiresAt
            }
        }
        for name in forget { entries[name] = nil }
        return out
    }
}
