/// Every way to deliver `bytes`: whole, split in two at every point, and one byte at a time.
func everySplit(of bytes: [UInt8]) -> [(label: String, chunks: [[UInt8]])] {
    var out: [(label: String, chunks: [[UInt8]])] = [("whole", [bytes])]
    for k in 0...bytes.count {
        out.append(("split at \(k)", [Array(bytes[..<k]), Array(bytes[k...])]))
    }
    out.append(("byte by byte", bytes.map { [$0] }))
    return out
}

/// The UTF-8 bytes of a string (tests write messages as string literals).
func bytes(_ string: String) -> [UInt8] {
    Array(string.utf8)
}
