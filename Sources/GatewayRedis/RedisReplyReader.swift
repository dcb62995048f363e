internal import CGatewayShims

/// Turns RESP bytes into `RedisReply`s with hiredis' reader: feed what the socket delivered, in any
/// split, then take the complete replies. One reader per connection; after a protocol error it
/// refuses everything, so the connection is dropped and the next one gets a new reader.
///
/// Not thread-safe: it belongs to one connection on one loop.
public final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    /// Creates a reader.
    public init() {
        guard let r = cgw_redis_reader_create() else {
            // Only allocation fails here; Swift's own allocations trap the same way.
            preconditionFailure("redisReaderCreate: out of memory")
        }
        reader = r
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends received bytes (hiredis copies them).
    /// - Throws: `RedisError.protocolError` when the reader already failed (or is out of memory).
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let r = redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        if r != REDIS_OK { throw .protocolError(errorText) }
    }

    /// Removes and returns the next complete reply, or nil when more bytes are needed.
    /// - Throws: `RedisError.protocolError` with hiredis' message when the bytes are not RESP.
    public func next() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        if redisReaderGetReply(reader, &raw) != REDIS_OK { throw .protocolError(errorText) }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisReply(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
    }

    private var errorText: String {
        let text = String(cString: cgw_redis_reader_error(reader))
        return text.isEmpty ? "reader failed" : text
    }
}

@available(*, unavailable)
extension RedisReplyReader: Sendable {}
