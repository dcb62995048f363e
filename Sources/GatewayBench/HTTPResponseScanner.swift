/// Decides whether a buffer holds one complete HTTP/1.1 response, for the fanout HTTP publisher.
/// It reads the status, `Content-Length`, `Transfer-Encoding: chunked` and `Connection`, and skips
/// the body; nothing else is kept. Interim `1xx` responses are skipped.
enum HTTPResponseScanner {
    /// The outcome of a scan.
    enum Result: Equatable {
        /// More bytes are needed (`closeDelimited`: the body ends at EOF).
        case incomplete(closeDelimited: Bool)
        /// A whole response of `length` bytes.
        case complete(status: Int, keepAlive: Bool, length: Int)
        /// Not HTTP, or a head larger than 64 KiB.
        case invalid
    }

    /// Scans `bytes` from the start.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        var start = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            guard let headLength = UpgradeRequest.headEnd(rest) else {
                return rest.count > 65_536 ? .invalid : .incomplete(closeDelimited: false)
            }
            guard rest.count >= 12, rest.starts(with: "HTTP/1.".utf8) else { return .invalid }
            var status = 0
            for i in 9..<12 {
                let d = rest[i] &- 48
                guard d < 10 else { return .invalid }
                status = status * 10 + Int(d)
            }
            if status >= 100 && status < 200 {
                start += headLength
                continue
            }
            var keepAlive = rest[7] == UInt8(ascii: "1")
            var contentLength: Int?
            var chunked = false
            var lineStart = 0
            for i in 0..<(headLength - 1) where rest[i] == 13 && rest[i + 1] == 10 {
                let line = UnsafeRawBufferPointer(rebasing: rest[lineStart..<i])
                lineStart = i + 2
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
                let value = String(decoding: line[(colon + 1)...], as: UTF8.self).lowercased()
                if UpgradeRequest.asciiEqualsIgnoringCase(name, "content-length") {
                    contentLength = Int(value.trimmingSpaces)
                } else if UpgradeRequest.asciiEqualsIgnoringCase(name, "transfer-encoding") {
                    chunked = value.contains("chunked")
                } else if UpgradeRequest.asciiEqualsIgnoringCase(name, "connection") {
                    if value.contains("close") { keepAlive = false }
                    if value.contains("keep-alive") { keepAlive = true }
                }
            }
            let bodyStart = start + headLength
            if status == 204 || status == 304 {
                return .complete(status: status, keepAlive: keepAlive, length: bodyStart)
            }
            if chunked {
                guard let end = chunkedEnd(bytes, from: bodyStart) else { return .incomplete(closeDelimited: false) }
                return .complete(status: status, keepAlive: keepAlive, length: end)
            }
            if let n = contentLength {
                return bytes.count - bodyStart >= n
                    ? .complete(status: status, keepAlive: keepAlive, length: bodyStart + n)
                    : .incomplete(closeDelimited: false)
            }
            return .incomplete(closeDelimited: true)
        }
    }

    /// The end of a chunked body starting at `from`, or nil if it is not complete.
    private static func chunkedEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while true {
            var size = 0
            var digits = 0
            while i < bytes.count, let v = hexValue(bytes[i]) {
                size = size * 16 + v
                digits += 1
                i += 1
                if digits > 15 { return nil }
            }
            // Skip chunk extensions up to CRLF.
            while i + 1 < bytes.count, !(bytes[i] == 13 && bytes[i + 1] == 10) { i += 1 }
            guard i + 1 < bytes.count, digits > 0 else { return nil }
            i += 2
            if size == 0 {
                // Trailers, then an empty line.
                while true {
                    guard i + 1 < bytes.count else { return nil }
                    if bytes[i] == 13 && bytes[i + 1] == 10 { return i + 2 }
                    while i + 1 < bytes.count, !(bytes[i] == 13 && bytes[i + 1] == 10) { i += 1 }
                    i += 2
                }
            }
            i += size + 2
            if i > bytes.count { return nil }
        }
    }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 48...57: Int(b - 48)
        case 65...70: Int(b - 55)
        case 97...102: Int(b - 87)
        default: nil
        }
    }
}
