/// What differs between the two directions of the shared parsing core: which line endings count,
/// how whitespace before a field's colon is treated, and the size limits. `HTTPRequestParser` and
/// `HTTPResponseParser` each build one from their public limits (SwiftNIO's `HTTPDecoder` is
/// parameterised by its `HTTPDecoderKind` the same way).
struct HTTPFramingPolicy {
    /// Whether a bare LF ends a line. Requests: no (two parsers disagreeing on line endings is a
    /// request-smuggling vector); responses from our own backends: yes (RFC 9112 §2.2 allows it).
    var acceptsBareLF: Bool
    /// Whether whitespace between a field name and its colon is an error (requests, RFC 9112 §5.1)
    /// or is removed (responses, as the same section has proxies do).
    var rejectsWhitespaceBeforeColon: Bool
    /// Longest start line (request or status line), without its line ending; also the longest
    /// chunk-size line.
    var maxStartLineBytes: Int
    /// Largest head (or trailer section), every line ending included.
    var maxSectionBytes: Int
    /// Most field lines in one head (or trailer section).
    var maxFieldCount: Int

    /// The policy for `limits`: requests take CRLF only and reject whitespace before a colon;
    /// responses accept bare LF and remove that whitespace.
    init<Kind>(_ limits: HTTPMessageLimits<Kind>, request: Bool) {
        acceptsBareLF = !request
        rejectsWhitespaceBeforeColon = request
        maxStartLineBytes = limits.maxStartLineBytes
        maxSectionBytes = limits.maxHeaderBytes
        maxFieldCount = limits.maxHeaderCount
    }
}
