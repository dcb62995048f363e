/// A chunked body (RFC 9112 §7.1) as it arrives, for requests and responses alike:
/// `chunk-size [ chunk-ext ] CRLF chunk-data CRLF … 0 CRLF`, then the trailer section (which the
/// caller scans). Extensions are ignored but must not hold control characters; bare LF line
/// endings are accepted where the policy says so. The sum of the chunk sizes is checked against the
/// body limit as soon as each size is known, before its data is read.
struct HTTPChunkedDecoder {
    /// Where the decoder is within the body.
    enum State: Equatable {
        /// Reading a chunk-size line (size digits, then extensions).
        case sizeLine
        /// Saw the CR of a chunk-size line; expecting LF.
        case sizeLineLF(size: Int)
        /// Reading chunk data.
        case data(remaining: Int)
        /// Expecting the line ending after chunk data.
        case dataEnd
        /// Saw the CR after chunk data; expecting LF.
        case dataEndLF
    }

    /// What `next` found.
    enum Step {
        /// Everything given was consumed; more bytes are needed.
        case needMore
        /// A piece of chunk data at this range of the input. Never empty.
        case data(Range<Int>)
        /// The last chunk's size line ended: the trailer section follows.
        case lastChunk
    }

    private(set) var state = State.sizeLine
    /// Body bytes announced so far by chunk sizes, for the cumulative body limit.
    private(set) var bodyBytes = 0
    private var size = 0
    private var digits = 0
    private var lineBytes = 0
    private var inExtension = false

    /// Starts a new body.
    mutating func begin() {
        bodyBytes = 0
        beginSizeLine()
    }

    private mutating func beginSizeLine() {
        state = .sizeLine
        size = 0
        digits = 0
        lineBytes = 0
        inExtension = false
    }

    /// Decodes from `input[start...]` up to the next piece of data or the last chunk.
    /// - Returns: the index after the last consumed byte, and what was found.
    mutating func next(
        _ input: UnsafeRawBufferPointer, from start: Int, policy: HTTPFramingPolicy, bodyLimit: Int
    ) throws(HTTPFramingError) -> (Int, Step) {
        var i = start
        let count = input.count
        while i < count {
            switch state {
            case .sizeLine:
                let c = input[i]
                i += 1
                if c == HTTPBytes.cr {
                    try finishSize(bodyLimit: bodyLimit)
                    state = .sizeLineLF(size: size)
                    continue
                }
                if c == HTTPBytes.lf {
                    guard policy.acceptsBareLF else { throw .invalidLineTerminator }
                    try finishSize(bodyLimit: bodyLimit)
                    if let step = endSizeLine(size) { return (i, step) }
                    continue
                }
                lineBytes += 1
                guard lineBytes <= policy.maxStartLineBytes else { throw .chunkLineTooLong(limit: policy.maxStartLineBytes) }
                if inExtension {
                    guard HTTPBytes.isFieldValueByte(c) else { throw .invalidChunkExtension }
                } else if let digit = HTTPBytes.hexValue(c) {
                    guard size <= (Int.max - digit) / 16 else { throw .invalidChunkSize }
                    size = size * 16 + digit
                    digits += 1
                } else if c == HTTPBytes.semicolon || HTTPBytes.isWhitespace(c) {
                    // BWS or ";" starts the extensions (RFC 9112 §7.1.1).
                    try finishSize(bodyLimit: bodyLimit)
                    inExtension = true
                } else {
                    throw .invalidChunkSize
                }
            case .sizeLineLF(let size):
                guard input[i] == HTTPBytes.lf else { throw .invalidLineTerminator }
                i += 1
                if let step = endSizeLine(size) { return (i, step) }
            case .data(let remaining):
                let take = min(remaining, count - i)
                state = take == remaining ? .dataEnd : .data(remaining: remaining - take)
                return (i + take, .data(i..<(i + take)))
            case .dataEnd:
                let c = input[i]
                i += 1
                if c == HTTPBytes.cr {
                    state = .dataEndLF
                } else if c == HTTPBytes.lf && policy.acceptsBareLF {
                    beginSizeLine()
                } else {
                    throw .invalidChunkTerminator
                }
            case .dataEndLF:
                guard input[i] == HTTPBytes.lf else { throw .invalidChunkTerminator }
                i += 1
                beginSizeLine()
            }
        }
        return (i, .needMore)
    }

    /// The size digits ended: there must be some, and the body limit applies to their sum.
    private mutating func finishSize(bodyLimit: Int) throws(HTTPFramingError) {
        guard !inExtension else { return }
        guard digits > 0 else { throw .invalidChunkSize }
        guard size <= bodyLimit - bodyBytes else { throw .bodyTooLarge(limit: bodyLimit) }
        bodyBytes += size
        inExtension = true  // counted once, whatever follows on the line
    }

    /// After a size line's ending: the last chunk, or the chunk's data.
    private mutating func endSizeLine(_ size: Int) -> Step? {
        if size == 0 { return .lastChunk }
        state = .data(remaining: size)
        return nil
    }
}
