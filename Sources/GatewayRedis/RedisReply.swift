internal import CGatewayShims

/// One RESP2 reply, copied out of hiredis' `redisReply` so that no C pointer outlives the reader.
///
/// An error reply (`-ERR …`) is a reply like any other: it is what Redis answered. Failures of the
/// connection itself are `RedisError`s.
public enum RedisReply: Sendable, Equatable, CustomStringConvertible {
    /// A simple string (`+OK`, `+PONG`).
    case status(String)
    /// An error reply, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case error(String)
    /// An integer (`INCR`, `PUBLISH`'s receiver count).
    case integer(Int64)
    /// A bulk string; nil for the null bulk string (`$-1`, e.g. `GET` of a missing key).
    case bulk([UInt8]?)
    /// An array; nil for the null array (`*-1`, e.g. `BLPOP` timing out).
    case array([RedisReply]?)

    /// Copies `reply` (and its elements) into Swift values. hiredis nests arrays at most 7 deep, so
    /// the recursion is bounded.
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STATUS:
            self = .status(Self.string(r))
        case REDIS_REPLY_ERROR:
            self = .error(Self.string(r))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(r.integer))
        case REDIS_REPLY_STRING:
            self = .bulk(Self.bytes(r))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let e = cgw_redis_reply_element(reply, i) { elements.append(RedisReply(e)) }
            }
            self = .array(elements)
        default:
            // REDIS_REPLY_NIL; `cgw_redis_reader_create` marks a null array with integer 1.
            self = r.integer == 1 ? .array(nil) : .bulk(nil)
        }
    }

    private static func bytes(_ r: redisReply) -> [UInt8] {
        guard let p = r.str, r.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: r.len))
    }

    private static func string(_ r: redisReply) -> String {
        String(decoding: bytes(r), as: UTF8.self)
    }

    /// The text of a status or bulk reply (bulk bytes decoded as UTF-8), else nil.
    public var string: String? {
        switch self {
        case .status(let s): s
        case .bulk(let b?): String(decoding: b, as: UTF8.self)
        default: nil
        }
    }

    /// Whether this is an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// A short, readable form (bulk strings as text when they are UTF-8), for logs and test failures.
    public var description: String {
        switch self {
        case .status(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulk(nil): return "(nil)"
        case .bulk(let b?): return "\"\(String(decoding: b, as: UTF8.self))\""
        case .array(nil): return "(nil array)"
        case .array(let a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
