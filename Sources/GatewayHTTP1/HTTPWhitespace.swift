extension HTTPBytes {
    /// `bytes` without leading and trailing optional whitespace (SP and HTAB, RFC 9110 §5.6.3).
    @inline(__always)
    static func trimmingOWS(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs (HTTP's optional whitespace,
    /// RFC 9110 §5.6.3), trimmed as bytes: the one trimmer of header values, list items and config
    /// values. (Trimming Characters would treat "\r\n" as one and miss a CR before it.)
    public func trimmingOWS() -> String {
        var copy = String(self)
        return copy.withUTF8 { utf8 in
            let trimmed = HTTPBytes.trimmingOWS(UnsafeRawBufferPointer(utf8))
            return trimmed.count == utf8.count ? String(self) : String(decoding: trimmed, as: UTF8.self)
        }
    }
}
