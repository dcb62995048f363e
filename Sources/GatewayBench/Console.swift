#if canImport(Glibc)
internal import Glibc
#endif

/// Unbuffered output on the standard descriptors. Writing with `write(2)` avoids touching C's
/// `stdout`/`stderr` globals (not concurrency-safe in Swift 6) and means `READY <n>` is on the pipe
/// the moment it is printed.
enum Console {
    /// Writes `text` to standard output.
    static func out(_ text: String) { write(fd: 1, text) }

    /// Writes `text` and a newline to standard error.
    static func error(_ text: String) { write(fd: 2, text + "\n") }

    private static func write(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
