public import GatewayBuffers

/// What to send to a backend: method, URL, header fields, body, timeout and response size limit.
///
/// A value, filled in by one builder per kind of call (the gateway's backend protocol lives in one
/// place, see `BackendCallSpec+Gateway.swift` in the gateway module), then handed to
/// `BackendClient.start`. It sits inside a pooled `BackendCall`, so its buffers keep their capacity
/// from call to call: building the headers and body of a message's call allocates nothing.
public struct BackendCallSpec {
    /// HTTP method. POST is the backend protocol's default (DESIGN §4).
    public var method: String = "POST"
    /// Absolute http(s) URL. For a call with `upstream`, filled in by `BackendClient.start` for
    /// each try (endpoint + path).
    public var url: String = ""
    /// HTTP version to speak. HTTP/1.1 by default (every backend speaks it, and the native client
    /// carries it); `.h2c` and `.h2` send the call through libcurl's HTTP/2.
    public var httpProtocol = BackendProtocol.http1
    /// The upstream group to call instead of `url` (nil: call `url`).
    public var upstream: UpstreamTarget? = nil
    /// Content type of `body`, sent when `hasBody`.
    public var contentType: String = "application/json"
    /// The request body. Must not change while the call is in flight (libcurl reads it in place).
    public var body = ByteBuffer()
    /// Whether to send a body at all (a GET has none).
    public var hasBody = true
    /// Overall timeout of the call in milliseconds. 5 s is `limits.backendTimeoutMs`'s default.
    public var timeoutMs = 5000
    /// Largest accepted response body; larger ones fail with `.responseTooLarge`. 16 MiB is far above
    /// any reply a client message should produce, and bounds memory per call.
    public var maxResponseBytes = 16 * 1024 * 1024
    /// Extra header fields as `Name: value\r\n` lines, in a buffer reused with the call. Add with
    /// `addHeader`.
    public private(set) var headerLines = ByteBuffer(capacity: 512)
    /// Whether some line of `headerLines` has an empty value (a libcurl removal marker, which the
    /// native client must leave out). When false the native client copies the lines in one piece.
    public private(set) var hasEmptyHeader = false

    /// An empty spec with the defaults above.
    public init() {}

    /// Adds a header field. CR, LF and NUL in the value are dropped so a value can never start a
    /// new line. An empty value means "do not send a field of this name" (libcurl would otherwise add
    /// some of its own, like `Accept`).
    public mutating func addHeader(_ name: String, _ value: some StringProtocol) {
        headerLines.write(string: name)
        headerLines.write(string: ": ")
        let before = headerLines.writerIndex
        // A native string's bytes are contiguous: checked in one pass and copied at once when clean
        // (the usual case), instead of one bounds-checked append per byte (~25 instructions each).
        let clean = value.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else { return false }
            headerLines.write(UnsafeRawBufferPointer(bytes))
            return true
        }
        if clean != true {
            for b in value.utf8 where b != 13 && b != 10 && b != 0 { headerLines.write(byte: b) }
        }
        if headerLines.writerIndex == before { hasEmptyHeader = true }
        headerLines.write(string: "\r\n")
    }

    /// Adds a header field whose value `body` writes (values built from pieces, like ids), without
    /// building a String. `body` must not write CR or LF.
    public mutating func addHeader(_ name: String, _ body: (inout ByteBuffer) -> Void) {
        headerLines.write(string: name)
        headerLines.write(string: ": ")
        let before = headerLines.writerIndex
        body(&headerLines)
        if headerLines.writerIndex == before { hasEmptyHeader = true }
        headerLines.write(string: "\r\n")
    }

    /// Calls `body` with each header line, without its CRLF.
    public func forEachHeaderLine(_ body: (UnsafeRawBufferPointer) -> Void) {
        headerLines.withUnsafeReadableBytes { raw in
            var start = 0
            var i = 0
            while i + 1 < raw.count {
                if raw[i] == 13 && raw[i + 1] == 10 {
                    body(UnsafeRawBufferPointer(rebasing: raw[start..<i]))
                    i += 2
                    start = i
                } else {
                    i += 1
                }
            }
        }
    }

    /// Back to the defaults, keeping buffer capacity (bounded, so one huge call does not pin memory).
    public mutating func reset() {
        method = "POST"
        url = ""
        httpProtocol = .http1
        if upstream != nil { upstream = nil }
        contentType = "application/json"
        body.clear()
        body.releaseCapacityIfEmpty(above: 64 * 1024)
        hasBody = true
        timeoutMs = 5000
        maxResponseBytes = 16 * 1024 * 1024
        headerLines.clear()
        headerLines.releaseCapacityIfEmpty(above: 8192)
        hasEmptyHeader = false
    }
}
