/// Scanning a field section (a request head, or the trailer section of a chunked body) line by line
/// as bytes arrive, enforcing the size limits before the section is complete.
extension HTTPRequestParser {
    /// Result of `scanSection`.
    enum SectionScan {
        /// No end yet; the input from the given offset was buffered.
        case incomplete
        /// The section ends in this input: its bytes are `section` (possibly empty) followed by
        /// `input[start..<end]`; `end` is just past the empty line.
        case complete(start: Int, end: Int)
    }

    /// Resets the scanner for the next section.
    /// - Parameter startLine: whether the section begins with a request line (a head) or not (trailers).
    mutating func beginSection(startLine: Bool) {
        if section.capacity > Self.retainedSectionCapacity {
            section = []
        } else {
            section.removeAll(keepingCapacity: true)
        }
        lineStart = 0
        sawStartLine = !startLine
        fieldLines = 0
    }

    /// Scans `input[start...]` for the end of the current section (an empty line).
    ///
    /// Every line must end in CRLF. Limits are checked at every line end and, for the part of the
    /// section still without an end, before returning `.incomplete`, so an oversize request line or
    /// head is rejected as soon as it crosses the limit.
    mutating func scanSection(_ input: UnsafeRawBufferPointer, from start: Int) throws(HTTPParseError) -> SectionScan {
        let count = input.count
        // input[segmentStart...] continues `section`; a skipped leading empty line moves it forward.
        var segmentStart = start
        var next = start
        while let lf = HTTPBytes.firstLF(in: input, from: next) {
            // Offset of the LF within the section.
            let offset = section.count + (lf - segmentStart)
            let crBefore = lf > segmentStart ? input[lf - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            guard crBefore else { throw .invalidLineTerminator }
            let lineLength = offset - 1 - lineStart
            next = lf + 1
            if !sawStartLine {
                if lineLength == 0 {
                    // RFC 9112 §2.2: ignore empty lines received before the request line.
                    section.removeAll(keepingCapacity: true)
                    segmentStart = next
                    continue
                }
                guard lineLength <= limits.maxRequestLineBytes else {
                    throw .requestLineTooLong(limit: limits.maxRequestLineBytes)
                }
            }
            guard offset < limits.maxHeaderBytes else { throw .headTooLarge(limit: limits.maxHeaderBytes) }
            if !sawStartLine {
                sawStartLine = true
            } else if lineLength == 0 {
                return .complete(start: segmentStart, end: next)
            } else {
                fieldLines += 1
                guard fieldLines <= limits.maxHeaderCount else {
                    throw .tooManyHeaders(limit: limits.maxHeaderCount)
                }
            }
            lineStart = offset + 1
        }

        // No end in this input: check the unfinished part, then keep it.
        let total = section.count + (count - segmentStart)
        if !sawStartLine {
            // The request line so far; one more byte is allowed if it is the CR of its CRLF.
            let lastIsCR = count > segmentStart ? input[count - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            let limit = limits.maxRequestLineBytes
            if total > limit + 1 || (total == limit + 1 && !lastIsCR) {
                throw .requestLineTooLong(limit: limit)
            }
        }
        guard total <= limits.maxHeaderBytes else { throw .headTooLarge(limit: limits.maxHeaderBytes) }
        if count > segmentStart {
            section.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[segmentStart..<count]))
        }
        return .incomplete
    }

    /// Calls `body` with the whole of a completed section (parsed straight from `input` when nothing
    /// was buffered), then resets the scanner for the next head.
    mutating func withCompleteSection<R>(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int,
        _ body: (UnsafeRawBufferPointer) throws(HTTPParseError) -> R
    ) throws(HTTPParseError) -> R {
        let result: Result<R, HTTPParseError>
        if section.isEmpty {
            result = Result { () throws(HTTPParseError) -> R in
                try body(UnsafeRawBufferPointer(rebasing: input[start..<end]))
            }
        } else {
            section.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            result = section.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) -> R in try body(raw) }
            }
        }
        beginSection(startLine: true)
        return try result.get()
    }

    /// Parses a completed head and moves to the body state its framing calls for.
    mutating func finishHead(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int
    ) throws(HTTPParseError) -> HTTPRequestHead {
        let limits = self.limits
        let fieldCount = fieldLines
        let parsed = try withCompleteSection(input, start: start, end: end) { raw throws(HTTPParseError) in
            try Self.parseHead(raw, fieldCount: fieldCount, limits: limits)
        }
        switch parsed.framing {
        case .none:
            state = .endPending
        case .length(let length):
            state = .fixedBody(remaining: length)
        case .chunked:
            bodyBytes = 0
            beginChunkLine()
        }
        return parsed.head
    }

    /// Validates and discards a completed trailer section.
    mutating func finishTrailers(_ input: UnsafeRawBufferPointer, start: Int, end: Int) throws(HTTPParseError) {
        try withCompleteSection(input, start: start, end: end) { raw throws(HTTPParseError) in
            try Self.forEachField(in: raw, from: 0) { _, _ throws(HTTPParseError) in }
        }
    }
}
