/// Size limits that `HTTPResponseParser` enforces while bytes arrive, so a misbehaving backend cannot
/// make the gateway buffer more than these amounts for one response.
///
/// Every limit is checked as early as the bytes allow: an oversize status line or head is rejected
/// before its terminating line ending arrives, and an oversize body as soon as its length is known
/// (a close-delimited body: as soon as the bytes that cross the limit arrive, before they are reported).
///
/// The defaults are looser than `HTTPParserLimits`: these bound our own backends, which are trusted
/// more than the public clients on the other side of the gateway, but not unboundedly.
public struct HTTPResponseParserLimits: Sendable, Equatable {
    /// Longest status line in bytes, not counting its line ending. Exceeding it fails with
    /// `.statusLineTooLong`. The same limit bounds each chunk-size line of a chunked body (size plus
    /// chunk extensions).
    ///
    /// Default 8192: a status line is `HTTP/1.1 200 OK`; 8 KiB is the line limit the request side uses
    /// (and nginx's `proxy_buffer_size` default is a page or two), so only a broken backend reaches it.
    public var maxStatusLineBytes: Int

    /// Largest response head in bytes: status line, every field line and every line ending, including
    /// the empty line that ends the head. Exceeding it fails with `.headTooLarge`. Also bounds the
    /// trailer section of a chunked body.
    ///
    /// Default 65536: backends may set several large cookies or long CSP/link headers; 64 KiB is four
    /// times the request-side limit and still bounds what a stalled backend pins per connection.
    public var maxHeaderBytes: Int

    /// Most header fields in one head (and, separately, in one trailer section). Exceeding it fails
    /// with `.tooManyHeaders`.
    ///
    /// Default 200: twice the request side's 100, as responses carry more fields (cookies, caching,
    /// security headers); it bounds the per-response work of building `HTTPHeaders`.
    public var maxHeaderCount: Int

    /// Largest response body in bytes. Checked against `Content-Length` before the head is reported,
    /// cumulatively against the chunk sizes of a chunked body, and against the bytes of a
    /// close-delimited body as they arrive. Exceeding it fails with `.bodyTooLarge`.
    ///
    /// Default 16 MiB (16_777_216), the same as `BackendRequest.maxResponseBytes`: far above any reply
    /// a client message should produce, and it bounds the memory of one call. A change applies to the
    /// requests announced after it (`HTTPResponseParser.expect(headRequest:maxBodyBytes:)` captures
    /// the limit, and can override it for one response).
    public var maxBodyBytes: Int

    /// Creates limits; every parameter defaults to the value documented on its property.
    public init(
        maxStatusLineBytes: Int = 8192,
        maxHeaderBytes: Int = 65536,
        maxHeaderCount: Int = 200,
        maxBodyBytes: Int = 16_777_216
    ) {
        self.maxStatusLineBytes = maxStatusLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}
