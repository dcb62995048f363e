/// Size limits a parser enforces while bytes arrive, so a peer cannot make the gateway buffer more
/// than these amounts for one message. One type for both directions (`HTTPParserLimits` for
/// requests, `HTTPResponseParserLimits` for responses); what differs is the defaults and the name of
/// the start line, which `Kind` supplies.
///
/// Every limit is checked as early as the bytes allow: an oversize start line or head is refused
/// before its line ending arrives, and an oversize body as soon as its length is known (a
/// close-delimited response body: as soon as the bytes that cross the limit arrive, before they are
/// reported). Exceeding a limit fails with `.requestLineTooLong`/`.statusLineTooLong`,
/// `.headTooLarge`, `.tooManyHeaders` or `.bodyTooLarge` (414, 431, 431, 413 on the request side).
public struct HTTPMessageLimits<Kind: HTTPMessageKind>: Sendable, Equatable {
    /// Longest start line in bytes, without its line ending; it also bounds each chunk-size line of
    /// a chunked body (size plus extensions), which would otherwise be an unbounded line that is
    /// ignored. Request side: `maxRequestLineBytes`; response side: `maxStatusLineBytes`.
    public var maxStartLineBytes: Int
    /// Largest head in bytes: start line, every field line and every line ending, including the
    /// empty line that ends the head. Also bounds the trailer section of a chunked body.
    public var maxHeaderBytes: Int
    /// Most header fields in one head (and, separately, in one trailer section); it bounds the
    /// per-message work (and allocations) of building `HTTPHeaders`.
    public var maxHeaderCount: Int
    /// Largest body in bytes: checked against `Content-Length` before any body byte is read, and
    /// cumulatively against the chunk sizes of a chunked body.
    public var maxBodyBytes: Int

    init(startLine: Int, header: Int, count: Int, body: Int) {
        maxStartLineBytes = startLine
        maxHeaderBytes = header
        maxHeaderCount = count
        maxBodyBytes = body
    }
}

/// Which direction a set of limits is for, with that direction's defaults.
public protocol HTTPMessageKind: Sendable {
    /// Default `maxStartLineBytes`.
    static var defaultStartLineBytes: Int { get }
    /// Default `maxHeaderBytes`.
    static var defaultHeaderBytes: Int { get }
    /// Default `maxHeaderCount`.
    static var defaultHeaderCount: Int { get }
    /// Default `maxBodyBytes`.
    static var defaultBodyBytes: Int { get }
}

/// Requests from the gateway's clients.
public enum HTTPRequestKind: HTTPMessageKind {
    /// 8192: RFC 9112 §3 recommends supporting request lines of at least 8000 octets, and nginx's
    /// default (`large_client_header_buffers 4 8k`) caps them at 8 KiB, so clients written for the
    /// public web stay below it.
    public static let defaultStartLineBytes = 8192
    /// 16384: a WebSocket upgrade with cookies and a bearer token is 1–4 KiB, and 16 KiB leaves room
    /// for large cookies while bounding the memory a slow client can pin per connection.
    public static let defaultHeaderBytes = 16384
    /// 100: browsers send 10–30 fields, and 100 is Apache's `LimitRequestFields` default.
    public static let defaultHeaderCount = 100
    /// 1 MiB: the gateway's HTTP side carries handshakes and small API calls, not uploads; 1 MiB
    /// matches nginx's `client_max_body_size` default.
    public static let defaultBodyBytes = 1_048_576
}

/// Responses from the gateway's own backends: trusted more than the public clients on the other
/// side, so the defaults are looser, but not unbounded.
public enum HTTPResponseKind: HTTPMessageKind {
    /// 8192: a status line is `HTTP/1.1 200 OK`; only a broken backend reaches it.
    public static let defaultStartLineBytes = 8192
    /// 65536: backends may set several large cookies or long CSP/link headers; four times the
    /// request side's limit still bounds what a stalled backend pins per connection.
    public static let defaultHeaderBytes = 65536
    /// 200: twice the request side's, as responses carry more fields (cookies, caching, security).
    public static let defaultHeaderCount = 200
    /// 16 MiB: the same as `BackendCallSpec.maxResponseBytes`, far above any reply a client message
    /// should produce. `HTTPResponseParser.expect(headRequest:maxBodyBytes:)` captures the limit per
    /// request and can override it for one response.
    public static let defaultBodyBytes = 16_777_216
}

/// The request parser's limits.
public typealias HTTPParserLimits = HTTPMessageLimits<HTTPRequestKind>
/// The response parser's limits.
public typealias HTTPResponseParserLimits = HTTPMessageLimits<HTTPResponseKind>

extension HTTPMessageLimits where Kind == HTTPRequestKind {
    /// Creates request limits; each parameter defaults to `HTTPRequestKind`'s value.
    public init(maxRequestLineBytes: Int = Kind.defaultStartLineBytes, maxHeaderBytes: Int = Kind.defaultHeaderBytes,
                maxHeaderCount: Int = Kind.defaultHeaderCount, maxBodyBytes: Int = Kind.defaultBodyBytes) {
        self.init(startLine: maxRequestLineBytes, header: maxHeaderBytes, count: maxHeaderCount, body: maxBodyBytes)
    }

    /// The request line's limit (`maxStartLineBytes`).
    public var maxRequestLineBytes: Int {
        get { maxStartLineBytes }
        set { maxStartLineBytes = newValue }
    }
}

extension HTTPMessageLimits where Kind == HTTPResponseKind {
    /// Creates response limits; each parameter defaults to `HTTPResponseKind`'s value.
    public init(maxStatusLineBytes: Int = Kind.defaultStartLineBytes, maxHeaderBytes: Int = Kind.defaultHeaderBytes,
                maxHeaderCount: Int = Kind.defaultHeaderCount, maxBodyBytes: Int = Kind.defaultBodyBytes) {
        self.init(startLine: maxStatusLineBytes, header: maxHeaderBytes, count: maxHeaderCount, body: maxBodyBytes)
    }

    /// The status line's limit (`maxStartLineBytes`).
    public var maxStatusLineBytes: Int {
        get { maxStartLineBytes }
        set { maxStartLineBytes = newValue }
    }
}
