/// Size limits that `HTTPRequestParser` enforces while bytes arrive, so a client cannot make the
/// gateway buffer more than these amounts for one request.
///
/// Every limit is checked as early as the bytes allow: an oversize request line or head is rejected
/// before its terminating CRLF arrives, and an oversize body as soon as its length is known.
public struct HTTPParserLimits: Sendable, Equatable {
    /// Longest request line in bytes, not counting its CRLF. Exceeding it fails with
    /// `.requestLineTooLong` (414).
    ///
    /// Default 8192: RFC 9112 §3 recommends supporting request lines of at least 8000 octets, and
    /// nginx's default (`large_client_header_buffers 4 8k`) caps them at 8 KiB, so clients written
    /// for the public web stay below it. The same limit bounds each chunk-size line of a chunked body (size plus chunk
    /// extensions), which would otherwise be an unbounded line that we ignore.
    public var maxRequestLineBytes: Int

    /// Largest request head in bytes: request line, every field line and every CRLF, including the
    /// empty line that ends the head. Exceeding it fails with `.headTooLarge` (431). Also bounds the
    /// trailer section of a chunked body.
    ///
    /// Default 16384: a WebSocket upgrade with cookies and a bearer token is 1–4 KiB, and 16 KiB
    /// leaves room for large cookies while bounding the memory a slow client can pin per connection.
    public var maxHeaderBytes: Int

    /// Most header fields in one head (and, separately, in one trailer section). Exceeding it fails
    /// with `.tooManyHeaders` (431).
    ///
    /// Default 100: browsers send 10–30 fields, and 100 is Apache's `LimitRequestFields` default.
    /// It bounds the per-request work (and allocations) of building `HTTPHeaders`.
    public var maxHeaderCount: Int

    /// Largest request body in bytes. Checked against `Content-Length` before any body byte is read,
    /// and cumulatively against the chunk sizes of a chunked body. Exceeding it fails with
    /// `.bodyTooLarge` (413).
    ///
    /// Default 1 MiB (1_048_576): the gateway's HTTP side carries handshakes and small API calls, not
    /// uploads; 1 MiB matches nginx's `client_max_body_size` default.
    public var maxBodyBytes: Int

    /// Creates limits; every parameter defaults to the value documented on its property.
    public init(
        maxRequestLineBytes: Int = 8192,
        maxHeaderBytes: Int = 16384,
        maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1_048_576
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}
