/// What `HTTPResponseParser.feed(_:_:)` reports, in order: for each response one `.head` (followed by
/// its `.field`s when the parser does not collect them), zero or more `.body` pieces, then `.end`. An interim (1xx) response is a `.head` followed directly by
/// `.end`; the final response to the same request comes after it.
public enum HTTPResponseEvent {
    /// The status line and header fields. Framing has been validated by the time it is reported.
    case head(HTTPResponseHead)
    /// One header field of the head just reported, in arrival order, when
    /// `HTTPResponseParser.collectsFields` is false (the head's `headers` are then empty). The
    /// value is OWS-trimmed; both pointers alias the parser's input or its buffer and are valid only
    /// during the callback. Returning `.pause` takes effect after the head's last field.
    case field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// A piece of the body (de-chunked). Never empty. The pointer aliases the caller's input (it is
    /// not copied) and is valid only during the callback: copy what you keep.
    case body(UnsafeRawBufferPointer)
    /// The response is complete. After a final response, read
    /// `HTTPResponseParser.lastResponseMustClose` to know whether the connection can carry more.
    case end
}
