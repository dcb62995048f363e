/// The chunk-size line of a chunked body (RFC 9112 §7.1):
/// `chunk-size [ chunk-ext ] CRLF`, where chunk-size is 1*HEXDIG and extensions are ignored.
/// A bare LF ends the line as well (see `HTTPResponseParser`).
extension HTTPResponseParser {
    /// Starts reading a chunk-size line.
    mutating func beginChunkLine() {
        state = .chunkLine
        chunkSize = 0
        chunkDigits = 0
        chunkLineBytes = 0
        inChunkExtension = false
    }

    /// Consumes chunk-size line bytes from `input[start...]` up to and including its line ending (or
    /// its CR, then the state is `.chunkLineLF`), or to the end of the input.
    /// - Returns: the index after the last consumed byte.
    mutating func scanChunkLine(
        _ input: UnsafeRawBufferPointer, from start: Int
    ) throws(HTTPResponseParseError) -> Int {
        let limit = limits.maxStatusLineBytes
        var i = start
        while i < input.count {
            let c = input[i]
            i += 1
            if c == HTTPBytes.cr {
                try finishChunkSize()
                state = .chunkLineLF(size: chunkSize)
                return i
            }
            if c == HTTPBytes.lf {
                try finishChunkSize()
                endChunkLine(size: chunkSize)
                return i
            }
            chunkLineBytes += 1
            guard chunkLineBytes <= limit else { throw .chunkLineTooLong(limit: limit) }
            if inChunkExtension {
                // Extensions are ignored, but a control character is malformed.
                guard HTTPBytes.isFieldValueByte(c) else { throw .invalidChunkExtension }
            } else if let digit = HTTPBytes.hexValue(c) {
                guard chunkSize <= (Int.max - digit) / 16 else { throw .invalidChunkSize }
                chunkSize = chunkSize * 16 + digit
                chunkDigits += 1
            } else if c == HTTPBytes.semicolon || HTTPBytes.isWhitespace(c) {
                // BWS or ";" starts the extensions (RFC 9112 §7.1.1).
                try finishChunkSize()
                inChunkExtension = true
            } else {
                throw .invalidChunkSize
            }
        }
        return i
    }

    /// Called when the size digits end: there must be some, and the body limit applies to the sum of
    /// all chunk sizes, checked before the chunk's data is read.
    mutating func finishChunkSize() throws(HTTPResponseParseError) {
        guard !inChunkExtension else { return }
        guard chunkDigits > 0 else { throw .invalidChunkSize }
        guard chunkSize <= bodyLimit - bodyBytes else { throw .bodyTooLarge(limit: bodyLimit) }
        bodyBytes += chunkSize
    }

    /// After a chunk-size line's line ending: the chunk's data, or the trailer section after the last
    /// chunk.
    mutating func endChunkLine(size: Int) {
        if size == 0 {
            beginSection(startLine: false)
            state = .trailers
        } else {
            state = .chunkData(remaining: size)
        }
    }
}
