/// A message body as it arrives, however it is framed (RFC 9112 §6.3): a fixed length, chunked
/// (with its trailer section, validated and discarded), or, for responses, until the connection
/// closes. Shared by both parsers; it hands out body pieces as ranges of the input, never copies.
struct HTTPBodyReader {
    /// How the body is delimited.
    enum Framing: Equatable {
        /// Exactly this many bytes.
        case length(Int)
        /// Chunked transfer coding.
        case chunked
        /// Until the connection closes (responses only).
        case untilClose
    }

    /// What `next` found.
    enum Step {
        /// Everything given was consumed; more bytes are needed.
        case needMore
        /// A piece of the body at this range of the input. Never empty.
        case data(Range<Int>)
        /// The body (and its trailers) is complete.
        case end
    }

    /// Where `read` stopped.
    enum Progress {
        /// Everything given was consumed; more bytes are needed.
        case needMore
        /// The callback asked to pause after the piece it was given.
        case paused
        /// The body (and its trailers) is complete.
        case ended
    }

    private enum State {
        case fixed(remaining: Int)
        case chunked
        case trailers
        case untilClose
    }

    private var state = State.fixed(remaining: 0)
    private var chunked = HTTPChunkedDecoder()
    /// Bytes of a close-delimited body so far, for its limit.
    private var closeDelimitedBytes = 0

    /// Whether the body ends only when the connection does.
    var isCloseDelimited: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// Starts reading a body framed by `framing`.
    mutating func begin(_ framing: Framing) {
        switch framing {
        case .length(let n): state = .fixed(remaining: n)
        case .chunked:
            chunked.begin()
            state = .chunked
        case .untilClose:
            closeDelimitedBytes = 0
            state = .untilClose
        }
    }

    /// Hands the body pieces in `input[i...]` to `onBody` until more bytes are needed, `onBody`
    /// pauses, or the body ends; `i` moves past what was consumed. The parsers' body state is this
    /// one call; `map` turns the core's errors into the caller's.
    mutating func read<E: Error>(
        _ input: UnsafeRawBufferPointer, from i: inout Int, policy: HTTPFramingPolicy, bodyLimit: Int,
        scanner: inout HTTPFieldSectionScanner, map: (HTTPFramingError) -> E,
        _ onBody: (UnsafeRawBufferPointer) -> HTTPParserAction
    ) throws(E) -> Progress {
        while true {
            let (next, step): (Int, Step)
            do throws(HTTPFramingError) {
                (next, step) = try self.next(input, from: i, policy: policy, bodyLimit: bodyLimit, scanner: &scanner)
            } catch {
                throw map(error)
            }
            i = next
            switch step {
            case .needMore: return .needMore
            case .end: return .ended
            case .data(let range): if onBody(UnsafeRawBufferPointer(rebasing: input[range])) == .pause { return .paused }
            }
        }
    }

    /// Reads from `input[start...]` up to the next piece of body, or its end. Inlined into its one
    /// caller, `read`, where it runs once per body piece of every backend response.
    /// - Parameters:
    ///   - scanner: scans the trailer section of a chunked body.
    ///   - bodyLimit: the largest body; a chunk size or close-delimited piece that crosses it fails.
    /// - Returns: the index after the last consumed byte, and what was found.
    @inline(__always)
    mutating func next(
        _ input: UnsafeRawBufferPointer, from start: Int, policy: HTTPFramingPolicy, bodyLimit: Int,
        scanner: inout HTTPFieldSectionScanner
    ) throws(HTTPFramingError) -> (Int, Step) {
        var i = start
        let count = input.count
        while true {
            switch state {
            case .fixed(let remaining):
                if remaining == 0 { return (i, .end) }
                guard i < count else { return (i, .needMore) }
                let take = min(remaining, count - i)
                state = .fixed(remaining: remaining - take)
                return (i + take, .data(i..<(i + take)))
            case .untilClose:
                guard i < count else { return (i, .needMore) }
                // Everything up to the close is body; refuse the piece that crosses the limit before
                // reporting any of it.
                let take = count - i
                guard take <= bodyLimit - closeDelimitedBytes else { throw .bodyTooLarge(limit: bodyLimit) }
                closeDelimitedBytes += take
                return (count, .data(i..<count))
            case .chunked:
                guard i < count else { return (i, .needMore) }
                let (next, step) = try chunked.next(input, from: i, policy: policy, bodyLimit: bodyLimit)
                i = next
                switch step {
                case .needMore: return (i, .needMore)
                case .data(let range): return (i, .data(range))
                case .lastChunk:
                    scanner.begin(startLine: false)
                    state = .trailers
                }
            case .trailers:
                guard i < count else { return (i, .needMore) }
                guard case .complete(let s, let e) = try scanner.scan(input, from: i, policy: policy) else { return (count, .needMore) }
                try scanner.withCompleteSection(input, start: s, end: e) { raw throws(HTTPFramingError) in
                    try HTTPFieldLines.forEach(in: raw, from: 0, policy: policy, map: { $0 }) { _, _ throws(HTTPFramingError) in }
                }
                state = .fixed(remaining: 0)
                return (e, .end)
            }
        }
    }
}
