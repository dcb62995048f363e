import GatewayHTTP1

/// An error both parsers report when a limit is crossed, by the shared core's names.
/// `MessageSide.error(_:)` gives each side's own case.
enum LimitError: Sendable {
    /// `.requestLineTooLong` or `.statusLineTooLong`.
    case startLineTooLong(limit: Int)
    case headTooLarge(limit: Int)
    case tooManyHeaders(limit: Int)
    case bodyTooLarge(limit: Int)
    case chunkLineTooLong(limit: Int)

    /// The case of `Failure` that reports this.
    func on<Failure: LimitFailure>(_: Failure.Type) -> Failure {
        switch self {
        case .startLineTooLong(let limit): .startLineTooLong(limit: limit)
        case .headTooLarge(let limit): .headTooLarge(limit: limit)
        case .tooManyHeaders(let limit): .tooManyHeaders(limit: limit)
        case .bodyTooLarge(let limit): .bodyTooLarge(limit: limit)
        case .chunkLineTooLong(let limit): .chunkLineTooLong(limit: limit)
        }
    }
}

/// A parser's error type as `LimitError` sees it: the enum cases of the same names satisfy these
/// requirements, and each side names its start-line case.
protocol LimitFailure: Error {
    static func startLineTooLong(limit: Int) -> Self
    static func headTooLarge(limit: Int) -> Self
    static func tooManyHeaders(limit: Int) -> Self
    static func bodyTooLarge(limit: Int) -> Self
    static func chunkLineTooLong(limit: Int) -> Self
}

extension HTTPParseError: LimitFailure {
    static func startLineTooLong(limit: Int) -> Self { .requestLineTooLong(limit: limit) }
}

extension HTTPResponseParseError: LimitFailure {
    static func startLineTooLong(limit: Int) -> Self { .statusLineTooLong(limit: limit) }
}

/// Either parser's error, kept as that side's own type so that comparisons are exact.
enum SideError: Equatable, Sendable, CustomStringConvertible {
    case request(HTTPParseError)
    case response(HTTPResponseParseError)

    var description: String {
        switch self {
        case .request(let error): "request: \(error)"
        case .response(let error): "response: \(error)"
        }
    }
}
