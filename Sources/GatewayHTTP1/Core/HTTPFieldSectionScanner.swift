/// Scans a field section (a head: start line, field lines, empty line; or the trailer section of a
/// chunked body) line by line as bytes arrive, for requests and responses alike, enforcing the size
/// limits before the section is complete. What it must keep across `scan` calls (a section that is
/// not complete yet) it copies; a section that arrives whole is parsed straight from the input.
struct HTTPFieldSectionScanner {
    /// Result of `scan`.
    enum Scan {
        /// No end yet; the input from the given offset was buffered.
        case incomplete
        /// The section ends in this input: its bytes are the buffered ones (possibly none) followed
        /// by `input[start..<end]`; `end` is just past the empty line.
        case complete(start: Int, end: Int)
    }

    /// Bytes of an incomplete section, kept across `scan` calls.
    private(set) var section: [UInt8] = []
    /// Offset in the section where the current line starts.
    private var lineStart = 0
    /// Whether the start line is done (always true for a trailer section).
    private var sawStartLine = false
    /// Completed field lines in the section.
    private(set) var fieldLines = 0

    /// Sections up to this capacity keep their buffer between messages; larger ones are freed so an
    /// idle connection does not pin a buffer sized for its largest head.
    static let retainedCapacity = 4096

    /// Whether nothing of a section is buffered.
    var isEmpty: Bool { section.isEmpty }

    /// Resets the scanner for the next section.
    /// - Parameter startLine: whether the section begins with a start line (a head) or not (trailers).
    mutating func begin(startLine: Bool) {
        if section.capacity > Self.retainedCapacity {
            section = []
        } else {
            section.removeAll(keepingCapacity: true)
        }
        lineStart = 0
        sawStartLine = !startLine
        fieldLines = 0
    }

    /// Frees the buffer (after an error).
    mutating func discard() {
        section = []
    }

    /// Scans `input[start...]` for the end of the current section (an empty line).
    ///
    /// A line ends in CRLF, or in a bare LF where `policy` accepts it (a CR before the LF is then not
    /// part of the line). Empty lines before a start line are skipped (RFC 9112 §2.2). Limits are
    /// checked at every line end and, for the part of the section still without an end, before
    /// returning `.incomplete`, so an oversize start line or head is refused as soon as it crosses
    /// the limit.
    /// - Parameter startLineAllowed: false refuses a start line as soon as its first byte arrives
    ///   (a response while no request is outstanding).
    mutating func scan(
        _ input: UnsafeRawBufferPointer, from start: Int, policy: HTTPFramingPolicy, startLineAllowed: Bool = true
    ) throws(HTTPFramingError) -> Scan {
        let count = input.count
        // input[segmentStart...] continues `section`; a skipped leading empty line moves it forward.
        var segmentStart = start
        var next = start
        while let lf = HTTPBytes.firstLF(in: input, from: next) {
            // Offset of the LF within the section.
            let offset = section.count + (lf - segmentStart)
            // A CR right before the LF belongs to the line ending (never to the previous line, whose
            // last byte is an LF).
            let crBefore = lf > segmentStart ? input[lf - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            guard crBefore || policy.acceptsBareLF else { throw .invalidLineTerminator }
            let lineLength = offset - lineStart - (crBefore ? 1 : 0)
            next = lf + 1
            if !sawStartLine {
                if lineLength == 0 {
                    section.removeAll(keepingCapacity: true)
                    segmentStart = next
                    continue
                }
                guard startLineAllowed else { throw .unexpectedStartLine }
                guard lineLength <= policy.maxStartLineBytes else { throw .startLineTooLong(limit: policy.maxStartLineBytes) }
            }
            guard offset < policy.maxSectionBytes else { throw .sectionTooLarge(limit: policy.maxSectionBytes) }
            if !sawStartLine {
                sawStartLine = true
            } else if lineLength == 0 {
                return .complete(start: segmentStart, end: next)
            } else {
                fieldLines += 1
                guard fieldLines <= policy.maxFieldCount else { throw .tooManyFields(limit: policy.maxFieldCount) }
            }
            lineStart = offset + 1
        }

        // No end in this input: check the unfinished part, then keep it.
        let total = section.count + (count - segmentStart)
        if !sawStartLine {
            // The start line so far; a last CR may be the start of its line ending.
            let lastIsCR = count > segmentStart ? input[count - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            let length = total - (lastIsCR ? 1 : 0)
            if length > 0 && !startLineAllowed { throw .unexpectedStartLine }
            guard length <= policy.maxStartLineBytes else { throw .startLineTooLong(limit: policy.maxStartLineBytes) }
        }
        guard total <= policy.maxSectionBytes else { throw .sectionTooLarge(limit: policy.maxSectionBytes) }
        if count > segmentStart {
            section.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[segmentStart..<count]))
        }
        return .incomplete
    }

    /// `scan`, with the core's error mapped to the caller's error type.
    mutating func scan<E: Error>(
        _ input: UnsafeRawBufferPointer, from start: Int, policy: HTTPFramingPolicy, startLineAllowed: Bool = true,
        map: (HTTPFramingError) -> E
    ) throws(E) -> Scan {
        do throws(HTTPFramingError) {
            return try scan(input, from: start, policy: policy, startLineAllowed: startLineAllowed)
        } catch {
            throw map(error)
        }
    }

    /// Calls `body` with the whole of a completed section (straight from `input` when nothing was
    /// buffered), then resets the scanner for the next head.
    mutating func withCompleteSection<R, E: Error>(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int,
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E>
        if section.isEmpty {
            result = Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: input[start..<end])) }
        } else {
            section.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            result = section.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
        }
        begin(startLine: true)
        return try result.get()
    }
}
