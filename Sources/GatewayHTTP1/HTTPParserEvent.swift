/// What `HTTPRequestParser.feed(_:_:)` reports, in order: one `.head`, zero or more `.body`
/// pieces, then `.end`, for each request.
public enum HTTPParserEvent {
    /// The request line and header fields. Framing has been validated by the time it is reported.
    case head(HTTPRequestHead)
    /// A piece of the body (de-chunked). Never empty. The pointer aliases the caller's input (it is
    /// not copied) and is valid only during the callback: copy what you keep.
    case body(UnsafeRawBufferPointer)
    /// The request is complete; the parser is ready for the next one on the connection.
    case end
}
