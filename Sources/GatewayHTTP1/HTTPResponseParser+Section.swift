/// Scanning a field section (a response head, or the trailer section of a chunked body) line by
/// line as bytes arrive, enforcing the size limits before the section is complete.
extension HTTPResponseParser {
    /// Result of `scanSection`.
    enum SectionScan {
        /// No end yet; the input from the given offset was buffered.
        case incomplete
        /// The section ends in this input: its bytes are `section` (possibly empty) followed by
        /// `input[start..<end]`; `end` is just past the empty line.
        case complete(start: Int, end: Int)
    }

    /// Resets the scanner for the next section.
    /// - Parameter startLine: whether the section begins with a status line (a head) or not (trailers).
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
    /// A line ends in LF, optionally preceded by CR (which is then not part of the line). Limits are
    /// checked at every line end and, for the part of the section still without an end, before
    /// returning `.incomplete`, so an oversize status line or head is rejected as soon as it crosses
    /// the limit. A status line is refused as soon as its first byte arrives if no request is
    /// outstanding.
    mutating func scanSection(
        _ input: UnsafeRawBufferPointer, from start: Int
    ) throws(HTTPResponseParseError) -> SectionScan {
        let count = input.count
        // input[segmentStart...] continues `section`; a skipped leading empty line moves it forward.
        var segmentStart = start
        var next = start
        while let lf = HTTPBytes.firstLF(in: input, from: next) {
            // Offset of the LF within the section.
            let offset = section.count + (lf - segmentStart)
            // A CR right before the LF is part of the line ending (never of the previous line, whose
            // last byte is an LF).
            let crBefore = lf > segmentStart ? input[lf - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            let lineLength = offset - lineStart - (crBefore ? 1 : 0)
            next = lf + 1
            if !sawStartLine {
                if lineLength == 0 {
                    // An empty line before the status line (a stray line ending after a body): skip it.
                    section.removeAll(keepingCapacity: true)
                    segmentStart = next
                    continue
                }
                guard !expectations.isEmpty else { throw .unsolicitedResponse }
                guard lineLength <= limits.maxStatusLineBytes else {
                    throw .statusLineTooLong(limit: limits.maxStatusLineBytes)
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
            // The status line so far; a last CR may be the start of its line ending.
            let lastIsCR = count > segmentStart ? input[count - 1] == HTTPBytes.cr : section.last == HTTPBytes.cr
            let length = total - (lastIsCR ? 1 : 0)
            if length > 0, expectations.isEmpty { throw .unsolicitedResponse }
            let limit = limits.maxStatusLineBytes
            guard length <= limit else { throw .statusLineTooLong(limit: limit) }
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
        _ body: (UnsafeRawBufferPointer) throws(HTTPResponseParseError) -> R
    ) throws(HTTPResponseParseError) -> R {
        let result: Result<R, HTTPResponseParseError>
        if section.isEmpty {
            result = Result { () throws(HTTPResponseParseError) -> R in
                try body(UnsafeRawBufferPointer(rebasing: input[start..<end]))
            }
        } else {
            section.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
            result = section.withUnsafeBytes { raw in
                Result { () throws(HTTPResponseParseError) -> R in try body(raw) }
            }
        }
        beginSection(startLine: true)
        return try result.get()
    }

    /// Parses a completed head for the oldest outstanding request, reports it (with its fields when
    /// they are not collected) and moves to the body state its framing calls for. A final response
    /// consumes the request's entry; an interim one leaves it. Returns what the callback asked for.
    mutating func finishHead(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int,
        _ onEvent: (HTTPResponseEvent) -> HTTPParserAction
    ) throws(HTTPResponseParseError) -> HTTPParserAction {
        // The scanner refused the status line already if nothing was expected.
        guard let expectation = expectations.front else { throw .unsolicitedResponse }
        let fieldCount = fieldLines
        let collect = collectsFields
        // The events are reported inside the section's scope, where the field bytes are valid; the
        // callback cannot observe the parser, so reporting before the state update below is safe.
        let (parsed, action) = try withCompleteSection(input, start: start, end: end) {
            raw throws(HTTPResponseParseError) -> (ParsedHead, HTTPParserAction) in
            let parsed = try Self.parseHead(
                raw, fieldCount: fieldCount, headRequest: expectation.isHead, maxBodyBytes: expectation.maxBodyBytes,
                collectFields: collect)
            var action = onEvent(.head(parsed.head))
            if !collect {
                guard let statusEnd = HTTPBytes.firstLF(in: raw, from: 0) else { throw .invalidStatusLine }
                try Self.forEachField(in: raw, from: statusEnd + 1) { name, value throws(HTTPResponseParseError) in
                    if onEvent(.field(name: name, value: value)) == .pause { action = .pause }
                }
            }
            return (parsed, action)
        }
        interimReceived = parsed.head.isInterim
        if parsed.head.isInterim {
            closeAfterEnd = false
        } else {
            expectations.removeFirst()
            lastResponseMustClose = parsed.mustClose
            closeAfterEnd = parsed.mustClose
        }
        bodyLimit = expectation.maxBodyBytes
        bodyBytes = 0
        switch parsed.framing {
        case .none:
            state = .endPending
        case .length(let length):
            state = .fixedBody(remaining: length)
        case .chunked:
            beginChunkLine()
        case .untilClose:
            state = .closeDelimitedBody
        }
        return action
    }

    /// Validates and discards a completed trailer section.
    mutating func finishTrailers(
        _ input: UnsafeRawBufferPointer, start: Int, end: Int
    ) throws(HTTPResponseParseError) {
        try withCompleteSection(input, start: start, end: end) { raw throws(HTTPResponseParseError) in
            try Self.forEachField(in: raw, from: 0) { _, _ throws(HTTPResponseParseError) in }
        }
    }
}
