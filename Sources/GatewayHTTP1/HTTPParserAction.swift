/// What the parser should do after the callback handled an event.
public enum HTTPParserAction: Sendable, Equatable {
    /// Keep parsing the input.
    case proceed
    /// Stop and return from `feed`; the bytes after the event are not consumed. Pausing at `.end` of
    /// an upgrade request leaves the bytes that follow it (the first WebSocket frames) to the caller.
    case pause
}
