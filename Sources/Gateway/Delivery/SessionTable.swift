/// A loop's sessions by id: an open-addressing hash table (linear probing, backward-shift
/// deletion) of the handles themselves, which know their keys. A bucket is one reference, 8 bytes,
/// where a `Dictionary<ConnectionKey, Handle>` bucket is 32 (a 20-byte key padded to 24, plus the
/// value): at 15,000 sessions that was about 70 bytes per idle connection, this is about 17
/// (issue 13).
///
/// Keys hash by their random bits, which the gateway drew from the CSPRNG, so they are spread
/// evenly; a lookup of a key a client made up costs at most the length of one run of buckets.
struct SessionTable {
    private var buckets: [SessionShard.Handle?] = []
    /// Number of sessions.
    private(set) var count = 0

    /// Whether there are none.
    var isEmpty: Bool { count == 0 }

    /// The session with id `key`, if it is here.
    subscript(key: ConnectionKey) -> SessionShard.Handle? {
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count - 1
        var i = Self.hash(key) & mask
        while let h = buckets[i] {
            if h.key == key { return h }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds `h`, replacing a session with the same key.
    mutating func insert(_ h: SessionShard.Handle) {
        // Load factor at most 3/4: the runs stay short.
        if (count + 1) * 4 > buckets.count * 3 { grow() }
        let mask = buckets.count - 1
        var i = Self.hash(h.key) & mask
        while let other = buckets[i] {
            if other.key == h.key {
                buckets[i] = h
                return
            }
            i = (i + 1) & mask
        }
        buckets[i] = h
        count += 1
    }

    /// Removes the session with id `key`, if any.
    mutating func remove(_ key: ConnectionKey) {
        guard !buckets.isEmpty else { return }
        let mask = buckets.count - 1
        var i = Self.hash(key) & mask
        while let h = buckets[i] {
            if h.key == key { break }
            i = (i + 1) & mask
        }
        guard buckets[i] != nil else { return }
        buckets[i] = nil
        count -= 1
        // Backward shift: move later members of the run into the hole when the hole lies between
        // their home bucket and where they are, so that no lookup stops early at an empty bucket.
        var hole = i
        var j = (i + 1) & mask
        while let h = buckets[j] {
            let home = Self.hash(h.key) & mask
            // Distance from home to j and from home to the hole, along the probe direction.
            if (j &- home) & mask >= (j &- hole) & mask {
                buckets[hole] = h
                buckets[j] = nil
                hole = j
            }
            j = (j + 1) & mask
        }
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: nil, count: max(16, old.count * 2))
        count = 0
        for case let h? in old { insert(h) }
    }

    private static func hash(_ key: ConnectionKey) -> Int {
        Int(truncatingIfNeeded: key.high ^ UInt64(key.low) &* 0x9E37_79B9_7F4A_7C15)
    }
}
