import GatewayHTTP1

/// Limits for a parser of either side, by the names both share; a limit left nil keeps that side's
/// default.
struct SideLimits: Sendable {
    /// `maxStartLineBytes` (`maxRequestLineBytes`, `maxStatusLineBytes`).
    var startLine: Int?
    /// `maxHeaderBytes`.
    var headerBytes: Int?
    /// `maxHeaderCount`.
    var headerCount: Int?
    /// `maxBodyBytes`.
    var bodyBytes: Int?

    /// `limits` with the limits set here in place of theirs.
    func applied<Kind>(to limits: HTTPMessageLimits<Kind>) -> HTTPMessageLimits<Kind> {
        var limits = limits
        if let startLine { limits.maxStartLineBytes = startLine }
        if let headerBytes { limits.maxHeaderBytes = headerBytes }
        if let headerCount { limits.maxHeaderCount = headerCount }
        if let bodyBytes { limits.maxBodyBytes = bodyBytes }
        return limits
    }
}
