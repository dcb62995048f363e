public import GatewayBuffers
internal import CGatewayShims
internal import GatewayHTTP1

/// Receives the outcome of a backend call on the loop that started it.
public protocol BackendResponseHandler: AnyObject {
    /// The call finished. `request.response` holds the status, headers and body, or `request.error`
    /// says why there is none. The request object is recycled as soon as this returns: copy or
    /// `takeResponseBody()` what must outlive the call.
    func backendRequestDidComplete(_ request: BackendRequest)
}

/// Receives a streamed response (reverse proxying), on the loop that started the call. The final
/// outcome still arrives through `BackendResponseHandler`.
public protocol BackendStreamHandler: AnyObject {
    /// The final (non-1xx) status and headers arrived.
    func backendResponseHead(_ request: BackendRequest, status: Int, headers: [(name: String, value: String)])
    /// A piece of the response body. Return false to refuse it for now (it is delivered again after
    /// `resumeDownload()`); the handler uses this when its client cannot take more.
    func backendResponseBody(_ request: BackendRequest, _ chunk: UnsafeRawBufferPointer) -> Bool
    /// The upload buffer was drained below its low-water mark: the client may send more.
    func backendUploadDrained(_ request: BackendRequest)
}

/// One HTTP call to a backend, reusable: the client keeps a pool of these (each wraps one libcurl
/// easy handle, whose connection cache and buffers survive between calls).
public final class BackendRequest {
    /// HTTP method. POST is the backend protocol's default.
    public var method: String = "POST"
    /// Absolute http(s) URL.
    public var url: String = ""
    /// Extra request header fields, encoded as `Name: value\r\n` lines in a buffer that is reused
    /// with the request: building the backend protocol's headers allocates nothing. `Content-Type` is
    /// added from `contentType`. Add with `addHeader`.
    public private(set) var headerLines = ByteBuffer(capacity: 512)

    /// Adds a header field. CR, LF and NUL in the value are dropped so a value can never start a
    /// new line. An empty value tells libcurl not to send a header of that name (native: omitted).
    public func addHeader(_ name: String, _ value: some StringProtocol) {
        headerLines.write(string: name)
        headerLines.write(string: ": ")
        for b in value.utf8 where b != 13 && b != 10 && b != 0 { headerLines.write(byte: b) }
        headerLines.write(string: "\r\n")
    }

    /// Adds a header field whose value `body` writes (for values built from pieces, like ids).
    public func addHeader(_ name: String, _ body: (inout ByteBuffer) -> Void) {
        headerLines.write(string: name)
        headerLines.write(string: ": ")
        body(&headerLines)
        headerLines.write(string: "\r\n")
    }

    /// Calls `body` with each header line (without CRLF).
    func forEachHeaderLine(_ body: (UnsafeRawBufferPointer) -> Void) {
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
    /// Content type of `body`.
    public var contentType: String = "application/json"
    /// The request body. Must not change while the call is in flight (libcurl reads it in place).
    public var body = ByteBuffer()
    /// Whether to send a body at all (a GET usually has none).
    public var hasBody = true
    /// Overall timeout of the call in milliseconds.
    public var timeoutMs = 5000
    /// Largest accepted response body; larger ones fail with `.responseTooLarge`.
    /// 16 MiB is far above any reply a client message should produce, and bounds memory per call.
    public var maxResponseBytes = 16 * 1024 * 1024
    /// Receives the outcome.
    public var handler: (any BackendResponseHandler)?
    /// Streams the response instead of collecting it, and the request body when `streamUpload`.
    public var stream: (any BackendStreamHandler)?
    /// The request body comes through `appendUpload`/`finishUpload` instead of `body`.
    public var streamUpload = false
    /// Length of a streamed upload when known (sent as Content-Length); nil sends it chunked.
    public var uploadLength: Int?
    /// Free for the caller (e.g. a sequence number).
    public var tag: Int = 0
    /// Free for the caller.
    public var context: AnyObject?

    /// The response, once complete.
    public internal(set) var response = BackendResponse()
    /// Set when the call failed without a usable response.
    public internal(set) var error: BackendError?

    /// libcurl's easy handle, created the first time the request goes through libcurl (calls to
    /// plain-http backends with IP addresses use the gateway's own HTTP/1.1 client and never need one).
    private var curlEasy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// The native client's connection carrying this request, while it is in flight there.
    var nativeConnection: AnyObject?
    /// Attempts made by the native client (a request that died on a reused keep-alive connection before
    /// any byte of its response arrived is retried once on a fresh connection, as libcurl does).
    var nativeAttempts = 0
    /// Loop time when the call started (native client timeouts).
    var startedAt: UInt64 = 0
    var aborted: BackendError?
    var inFlight = false
    var activeIndex = -1
    var uploadBuffer = ByteBuffer()
    var uploadFinished = false
    var uploadPaused = false
    var downloadPaused = false
    var streamStatus = 0
    var streamHeadSent = false
    /// libcurl saw the blank line that ends the final response head (it reports success for a head
    /// cut off by the peer's FIN; the gateway does not).
    var headComplete = false
    var streamBytes = 0
    /// The upload buffer's low-water mark: below it, `backendUploadDrained` lets the client send more.
    public static let uploadLowWater = 256 * 1024

    init() {}

    deinit {
        if let h = headerList { curl_slist_free_all(h) }
        if let e = curlEasy { curl_easy_cleanup(e) }
    }

    /// The easy handle, created on first use; nil only if libcurl cannot allocate one.
    var easy: UnsafeMutableRawPointer? {
        if let e = curlEasy { return e }
        curlEasy = curl_easy_init()
        return curlEasy
    }

    /// Moves the response body out (no copy) so it can outlive the request.
    public func takeResponseBody() -> ByteBuffer {
        var b = ByteBuffer()
        swap(&b, &response.body)
        return b
    }

    /// Adds request body bytes to a streamed upload.
    public func appendUpload(_ bytes: UnsafeRawBufferPointer) {
        uploadBuffer.write(bytes)
        continueUpload()
    }

    /// Ends a streamed upload.
    public func finishUpload() {
        uploadFinished = true
        continueUpload()
    }

    /// Bytes waiting to be uploaded.
    public var uploadBacklog: Int { uploadBuffer.readableBytes }

    /// Asks libcurl to deliver the body again after the stream handler refused a piece.
    public func resumeDownload() {
        guard inFlight, downloadPaused, let e = curlEasy else { return }
        downloadPaused = false
        curl_easy_pause(e, cgw_curlpause_cont())
    }

    private func continueUpload() {
        guard inFlight, uploadPaused, let e = curlEasy else { return }
        uploadPaused = false
        curl_easy_pause(e, cgw_curlpause_cont())
    }

    func reset() {
        nativeConnection = nil
        nativeAttempts = 0
        stream = nil
        streamUpload = false
        uploadLength = nil
        uploadBuffer.clear()
        uploadBuffer.releaseCapacityIfEmpty(above: 64 * 1024)
        uploadFinished = false
        uploadPaused = false
        downloadPaused = false
        streamStatus = 0
        streamHeadSent = false
        headComplete = false
        streamBytes = 0
        method = "POST"
        url = ""
        headerLines.clear()
        headerLines.releaseCapacityIfEmpty(above: 8192)
        contentType = "application/json"
        body.clear()
        hasBody = true
        handler = nil
        context = nil
        tag = 0
        response.reset()
        error = nil
        aborted = nil
        if let h = headerList {
            curl_slist_free_all(h)
            headerList = nil
        }
    }
}

/// Status, headers and body of a backend response.
public struct BackendResponse {
    /// HTTP status code (0 until known).
    public var status: Int = 0
    /// The header fields in arrival order, as `name:value` lines each ending in LF (names are tokens
    /// without a colon, values hold no LF). Bytes rather than Strings: a reply's head is stored
    /// without allocating, and Strings are made only for the fields asked for.
    private var fieldBytes: [UInt8] = []
    /// Fields whose name starts with `Gateway-`: the gateway looks up five of them for every reply, and
    /// most replies have none, so a lookup can then answer without scanning.
    private var gatewayFieldCount = 0
    /// Where the first `Content-Type` value lies in `fieldBytes` (read for every reply).
    private var contentTypeRange: Range<Int>?
    /// The body.
    public var body = ByteBuffer()

    /// An empty response (status 0, no fields, no body).
    public init() {}

    /// Response header fields in order; names as sent by the backend. Builds Strings: for the paths
    /// that pass every field on (proxying, the handshake hook), not for per-message lookups.
    public var headers: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        forEachField { name, value in
            out.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            return true
        }
        return out
    }

    /// Appends a field (a status line from an interim response is cleared with `removeAllHeaders`).
    public mutating func appendHeader(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if Self.hasGatewayPrefix(name) { gatewayFieldCount += 1 }
        name.withMemoryRebound(to: UInt8.self) { fieldBytes.append(contentsOf: $0) }
        fieldBytes.append(UInt8(ascii: ":"))
        let start = fieldBytes.count
        value.withMemoryRebound(to: UInt8.self) { fieldBytes.append(contentsOf: $0) }
        if contentTypeRange == nil, Self.sameName(name, "content-type") { contentTypeRange = start..<fieldBytes.count }
        fieldBytes.append(0x0A)
    }

    /// Appends a field given as Strings.
    public mutating func appendHeader(name: String, value: String) {
        var name = name, value = value
        name.withUTF8 { n in value.withUTF8 { v in appendHeader(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
    }

    /// Drops every field (a new header block starts).
    public mutating func removeAllHeaders() {
        fieldBytes.removeAll(keepingCapacity: true)
        gatewayFieldCount = 0
        contentTypeRange = nil
    }

    /// Calls `body` with each field's name and value until it returns false.
    private func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        fieldBytes.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                var colon = start
                while raw[colon] != UInt8(ascii: ":") { colon += 1 }
                var end = colon + 1
                while raw[end] != 0x0A { end += 1 }
                let name = UnsafeRawBufferPointer(rebasing: raw[start..<colon])
                let value = UnsafeRawBufferPointer(rebasing: raw[(colon + 1)..<end])
                if !body(name, value) { return }
                start = end + 1
            }
        }
    }

    /// Calls `body` with the value of the first field named `name` (ASCII case-insensitive); nil
    /// when there is none.
    private func withFirstValue<R>(_ name: String, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        var name = name
        let (isGateway, isContentType) = name.withUTF8 { n in
            (Self.hasGatewayPrefix(UnsafeRawBufferPointer(n)), Self.sameName(UnsafeRawBufferPointer(n), "content-type"))
        }
        if gatewayFieldCount == 0 && isGateway { return nil }
        if isContentType, let range = contentTypeRange {
            return fieldBytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
        var result: R?
        forEachField { n, v in
            guard Self.sameName(n, name) else { return true }
            result = body(v)
            return false
        }
        return result
    }

    /// The first value of a header (ASCII case-insensitive), or nil. Allocates only when the field
    /// is present (and its value longer than 15 bytes).
    public func header(_ name: String) -> String? {
        withFirstValue(name) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every value of a header, in order.
    public func values(_ name: String) -> [String] {
        var out: [String] = []
        forEachField { n, v in
            if Self.sameName(n, name) { out.append(String(decoding: v, as: UTF8.self)) }
            return true
        }
        return out
    }

    /// Whether a field name (bytes) is `b`, ignoring ASCII case.
    static func sameName(_ a: UnsafeRawBufferPointer, _ b: String) -> Bool {
        var b = b
        return b.withUTF8 { HTTPHeaders.equalsIgnoringCase(a, UnsafeRawBufferPointer($0)) }
    }

    /// Whether `name` starts with `Gateway-` (any case).
    static func hasGatewayPrefix(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count >= 8 && sameName(UnsafeRawBufferPointer(rebasing: name[0..<8]), "gateway-")
    }

    /// Whether `Content-Type` names JSON (`application/json` or any `…+json`, RFC 6839), checked on the
    /// bytes without building a String (this runs for every reply).
    public var contentTypeIsJSON: Bool {
        withFirstValue("content-type") { ct -> Bool in
            var end = 0
            while end < ct.count, ct[end] != UInt8(ascii: ";") { end += 1 }
            var start = 0
            while start < end, ct[start] == 0x20 || ct[start] == 0x09 { start += 1 }
            while end > start, ct[end - 1] == 0x20 || ct[end - 1] == 0x09 { end -= 1 }
            let type = UnsafeRawBufferPointer(rebasing: ct[start..<end])
            if Self.sameName(type, "application/json") { return true }
            return type.count > 5 && Self.sameName(UnsafeRawBufferPointer(rebasing: type[(type.count - 5)...]), "+json")
        } ?? false
    }

    mutating func reset() {
        status = 0
        removeAllHeaders()
        if fieldBytes.capacity > 16 * 1024 { fieldBytes = [] }
        body.clear()
        body.releaseCapacityIfEmpty(above: 64 * 1024)
    }
}


extension String {
    /// Without leading and trailing spaces and tabs (bytes, not Characters).
    func trimmingASCIISpaces() -> String {
        let u = Array(utf8)
        var a = 0, b = u.count
        while a < b, u[a] == 0x20 || u[a] == 0x09 { a += 1 }
        while b > a, u[b - 1] == 0x20 || u[b - 1] == 0x09 { b -= 1 }
        return String(decoding: u[a..<b], as: UTF8.self)
    }
}
