/// The FIFO of announced requests (`expect`) whose responses are still to come.
extension HTTPResponseParser {
    /// What the parser needs to know about a request to frame its response.
    struct Expectation: Equatable {
        /// Whether the request was a HEAD (the response has no body).
        var isHead: Bool
        /// The body limit for the response.
        var maxBodyBytes: Int
    }

    /// A queue over one array: `removeFirst` only moves an index, and the consumed prefix is dropped
    /// in place (no allocation) when the queue empties or the prefix outgrows the live part. With a
    /// steady pipeline depth the array stops growing after the first few requests.
    struct ExpectationQueue {
        /// Entries; the live ones are `entries[first...]`.
        private var entries: [Expectation] = []
        /// Index of the oldest live entry.
        private var first = 0

        /// Number of live entries.
        var count: Int { entries.count - first }

        /// Whether no entry is live.
        var isEmpty: Bool { first == entries.count }

        /// The oldest entry, if any.
        var front: Expectation? {
            first < entries.count ? entries[first] : nil
        }

        /// Adds an entry at the back.
        mutating func append(_ entry: Expectation) {
            entries.append(entry)
        }

        /// Removes the oldest entry, if any.
        mutating func removeFirst() {
            guard first < entries.count else { return }
            first += 1
            if first == entries.count {
                entries.removeAll(keepingCapacity: true)
                first = 0
            } else if first >= 16, first * 2 >= entries.count {
                entries.removeSubrange(0..<first)
                first = 0
            }
        }
    }
}
