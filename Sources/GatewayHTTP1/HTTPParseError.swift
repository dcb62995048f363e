/// Why `HTTPRequestParser` rejected a request. Each case maps to exactly one HTTP status
/// (`status`), which `HTTPResponseWriter.writeError(_:into:)` sends before closing the connection.
///
/// Field indexes count from 0 within their section (the head's fields, or the trailer's).
public enum HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request line is longer than `HTTPParserLimits.maxRequestLineBytes`. Status 414.
    case requestLineTooLong(limit: Int)
    /// The head (or a trailer section) is larger than `HTTPParserLimits.maxHeaderBytes`. Status 431.
    case headTooLarge(limit: Int)
    /// The head (or a trailer section) has more than `HTTPParserLimits.maxHeaderCount` fields. Status 431.
    case tooManyHeaders(limit: Int)
    /// `Content-Length`, or the sum of the chunk sizes, exceeds `HTTPParserLimits.maxBodyBytes`. Status 413.
    case bodyTooLarge(limit: Int)
    /// `Transfer-Encoding` is anything but exactly `chunked` (RFC 9112 §6.1); carries the joined
    /// field values. Status 501.
    case unsupportedTransferEncoding(String)
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1, such as `HTTP/2.0`. Status 505.
    case unsupportedVersion(HTTPVersion)
    /// A line ended with a bare LF (no CR in front). Bare LF is rejected, not tolerated: see
    /// `HTTPRequestParser`. Status 400.
    case invalidLineTerminator
    /// The request line is not `method SP request-target SP HTTP-version` (e.g. a version-less
    /// HTTP/0.9 line). Status 400.
    case invalidRequestLine
    /// The method is empty or not a token (RFC 9110 §9.1). Status 400.
    case invalidMethod
    /// The request-target is empty, contains a byte outside visible ASCII, or is none of
    /// origin-form, absolute-form or `*` (the last only with OPTIONS). Status 400.
    case invalidTarget
    /// The HTTP-version is not `HTTP/` DIGIT `.` DIGIT. Status 400.
    case invalidVersion
    /// A field name is empty or not a token, or the line has no colon. Status 400.
    case invalidHeaderName(index: Int)
    /// Whitespace between a field name and its colon, forbidden by RFC 9112 §5.1. Status 400.
    case whitespaceBeforeColon(index: Int)
    /// A field line starts with whitespace: obsolete line folding (RFC 9112 §5.2). Status 400.
    case obsoleteLineFolding(index: Int)
    /// A field value contains a control character other than HTAB (NUL, CR, DEL, …). Status 400.
    case invalidHeaderValue(name: String)
    /// `Content-Length` is not a decimal number that fits in `Int`, or several values differ
    /// (RFC 9110 §8.6); carries the offending value. Status 400.
    case invalidContentLength(String)
    /// Both `Content-Length` and `Transfer-Encoding` are present, a request-smuggling signal
    /// (RFC 9112 §6.3). Status 400.
    case contentLengthWithTransferEncoding
    /// `Transfer-Encoding` in an HTTP/1.0 request, whose framing RFC 9112 §6.1 says to treat as
    /// faulty. Status 400.
    case transferEncodingInHTTP10
    /// A chunk-size is missing, not hexadecimal, or overflows `Int`. Status 400.
    case invalidChunkSize
    /// A chunk extension contains a control character. Status 400.
    case invalidChunkExtension
    /// A chunk-size line (size plus extensions) is longer than `HTTPParserLimits.maxRequestLineBytes`.
    /// Status 400.
    case chunkLineTooLong(limit: Int)
    /// Chunk data is not followed by CRLF. Status 400.
    case invalidChunkTerminator

    /// The HTTP status to answer with. Every case maps to exactly one status.
    public var status: Int {
        switch self {
        case .requestLineTooLong: 414
        case .headTooLarge, .tooManyHeaders: 431
        case .bodyTooLarge: 413
        case .unsupportedTransferEncoding: 501
        case .unsupportedVersion: 505
        case .invalidLineTerminator, .invalidRequestLine, .invalidMethod, .invalidTarget, .invalidVersion,
            .invalidHeaderName, .whitespaceBeforeColon, .obsoleteLineFolding, .invalidHeaderValue,
            .invalidContentLength, .contentLengthWithTransferEncoding, .transferEncodingInHTTP10,
            .invalidChunkSize, .invalidChunkExtension, .chunkLineTooLong, .invalidChunkTerminator:
            400
        }
    }

    /// A one-line explanation for logs. It may quote request bytes, so do not send it to the client.
    public var description: String {
        switch self {
        case .requestLineTooLong(let limit): "request line longer than \(limit) bytes"
        case .headTooLarge(let limit): "header section larger than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .unsupportedTransferEncoding(let value): "unsupported Transfer-Encoding '\(value)'"
        case .unsupportedVersion(let version): "unsupported version \(version)"
        case .invalidLineTerminator: "line not terminated by CRLF"
        case .invalidRequestLine: "malformed request line"
        case .invalidMethod: "invalid method token"
        case .invalidTarget: "invalid request-target"
        case .invalidVersion: "malformed HTTP-version"
        case .invalidHeaderName(let index): "invalid field name in field \(index)"
        case .whitespaceBeforeColon(let index): "whitespace before colon in field \(index)"
        case .obsoleteLineFolding(let index): "obsolete line folding at field \(index)"
        case .invalidHeaderValue(let name): "control character in value of field '\(name)'"
        case .invalidContentLength(let value): "invalid Content-Length '\(value)'"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .transferEncodingInHTTP10: "Transfer-Encoding in an HTTP/1.0 request"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "control character in chunk extension"
        case .chunkLineTooLong(let limit): "chunk-size line longer than \(limit) bytes"
        case .invalidChunkTerminator: "chunk data not followed by CRLF"
        }
    }
}

extension HTTPParseError: HTTPFramingFailure {
    static func startLineTooLong(limit: Int) -> Self { .requestLineTooLong(limit: limit) }
    /// Requests may always start; the core never reports this for them.
    static var unexpectedStartLine: Self { .invalidRequestLine }
}
