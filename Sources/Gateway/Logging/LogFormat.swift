/// How log lines are written to standard error: `--log-format` or `GATEWAY_LOG_FORMAT`.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `<ts> <level> gateway: <metadata> [<source>] <message>`, for people at a terminal. The default,
    /// because that is where a gateway is first run.
    case text
    /// One JSON object per line (`ts`, `level`, `msg`, then the metadata's keys such as
    /// `connectionId`, `requestId`, `traceId`, `module`, `command`, `route`), for log collectors.
    case json
}
