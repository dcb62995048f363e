/// Why `HTTPResponseParser` rejected a backend response, or the connection it arrived on.
///
/// Every case means the backend's framing can no longer be trusted: close the connection. The
/// gateway answers the request that was waiting for the response with `status` (502). Requests
/// still queued with `expect` (`HTTPResponseParser.expectedResponseCount`) got no response at all.
///
/// Field indexes count from 0 within their section (the head's fields, or the trailer's).
public enum HTTPResponseParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status line is longer than `HTTPResponseParserLimits.maxStatusLineBytes`.
    case statusLineTooLong(limit: Int)
    /// The head (or a trailer section) is larger than `HTTPResponseParserLimits.maxHeaderBytes`.
    case headTooLarge(limit: Int)
    /// The head (or a trailer section) has more than `HTTPResponseParserLimits.maxHeaderCount` fields.
    case tooManyHeaders(limit: Int)
    /// The body (by `Content-Length`, the sum of the chunk sizes, or the bytes of a close-delimited
    /// body) exceeds the response's body limit.
    case bodyTooLarge(limit: Int)
    /// `Transfer-Encoding` does not end in exactly one `chunked` (RFC 9112 §6.1); carries the joined
    /// field values.
    case unsupportedTransferEncoding(String)
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1, such as `HTTP/2.0`.
    case unsupportedVersion(HTTPVersion)
    /// The HTTP-version is not `HTTP/` DIGIT `.` DIGIT.
    case invalidVersion
    /// The status line is not `HTTP-version SP status-code [SP reason-phrase]`, or the reason phrase
    /// contains a control character.
    case invalidStatusLine
    /// The status code is not three digits in 100–999; carries what was found.
    case invalidStatusCode(String)
    /// A CR not followed by LF where a line ends (bare LF alone is accepted; see `HTTPResponseParser`).
    case invalidLineTerminator
    /// A field name is empty or not a token, or the line has no colon.
    case invalidHeaderName(index: Int)
    /// A field line starts with whitespace: obsolete line folding (RFC 9112 §5.2).
    case obsoleteLineFolding(index: Int)
    /// A field value contains a control character other than HTAB (NUL, CR, DEL, …).
    case invalidHeaderValue(name: String)
    /// `Content-Length` is not a decimal number that fits in `Int`, or several values differ
    /// (RFC 9110 §8.6); carries the offending value.
    case invalidContentLength(String)
    /// Both `Content-Length` and `Transfer-Encoding`, which RFC 9112 §6.3 says "ought to be handled as
    /// an error" (a response-splitting signal).
    case contentLengthWithTransferEncoding
    /// `Transfer-Encoding` in an HTTP/1.0 response, whose framing RFC 9112 §6.1 says to treat as faulty.
    case transferEncodingInHTTP10
    /// A chunk-size is missing, not hexadecimal, or overflows `Int`.
    case invalidChunkSize
    /// A chunk extension contains a control character.
    case invalidChunkExtension
    /// A chunk-size line (size plus extensions) is longer than
    /// `HTTPResponseParserLimits.maxStatusLineBytes`.
    case chunkLineTooLong(limit: Int)
    /// Chunk data is not followed by a line ending.
    case invalidChunkTerminator
    /// A status line arrived while no request was outstanding (`expect` was not called for it).
    case unsolicitedResponse
    /// Bytes arrived after a response that ended the connection (`lastResponseMustClose`), or after
    /// `finish`.
    case dataAfterClose
    /// The connection closed in the middle of a response (its head, body or trailers, or after an
    /// interim response).
    case incompleteResponse
    /// The connection closed while requests were outstanding and no byte of their responses had
    /// arrived. Carries how many. Whether they may be retried on a new connection is the caller's
    /// call (RFC 9110 §9.2.2: only idempotent ones).
    case noResponse(unanswered: Int)

    /// The status the gateway answers its own client with when a backend response fails: 502 Bad
    /// Gateway, "an invalid response from an inbound server" (RFC 9110 §15.6.3), for every case.
    public var status: Int { 502 }

    /// A one-line explanation for logs. It may quote backend bytes.
    public var description: String {
        switch self {
        case .statusLineTooLong(let limit): "status line longer than \(limit) bytes"
        case .headTooLarge(let limit): "header section larger than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .unsupportedTransferEncoding(let value): "unsupported Transfer-Encoding '\(value)'"
        case .unsupportedVersion(let version): "unsupported version \(version)"
        case .invalidVersion: "malformed HTTP-version"
        case .invalidStatusLine: "malformed status line"
        case .invalidStatusCode(let code): "invalid status code '\(code)'"
        case .invalidLineTerminator: "CR not followed by LF"
        case .invalidHeaderName(let index): "invalid field name in field \(index)"
        case .obsoleteLineFolding(let index): "obsolete line folding at field \(index)"
        case .invalidHeaderValue(let name): "control character in value of field '\(name)'"
        case .invalidContentLength(let value): "invalid Content-Length '\(value)'"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 response"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "control character in chunk extension"
        case .chunkLineTooLong(let limit): "chunk-size line longer than \(limit) bytes"
        case .invalidChunkTerminator: "chunk data not followed by a line ending"
        case .unsolicitedResponse: "response received while no request was outstanding"
        case .dataAfterClose: "data after the response that ended the connection"
        case .incompleteResponse: "connection closed in the middle of a response"
        case .noResponse(let unanswered): "connection closed with \(unanswered) request(s) unanswered"
        }
    }
}

extension HTTPResponseParseError: HTTPFramingFailure {
    static func startLineTooLong(limit: Int) -> Self { .statusLineTooLong(limit: limit) }
    static var unexpectedStartLine: Self { .unsolicitedResponse }
    /// Removed, not rejected, in responses (RFC 9112 §5.1); the core reports it only for requests.
    static func whitespaceBeforeColon(index: Int) -> Self { .invalidHeaderName(index: index) }
}
