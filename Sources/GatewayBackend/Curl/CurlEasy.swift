internal import CGatewayShims
internal import GatewayHTTP1

/// What a libcurl transfer reports to whoever owns it (a call of `CurlTransport`, or a
/// `BackendStream`). All calls happen on the loop, from inside `curl_multi_socket_action`.
protocol CurlTransfer: AnyObject {
    /// The response collecting the header fields.
    var curlResponse: BackendResponse { get set }
    /// A final (non-1xx) response head is complete.
    func curlHeadComplete(_ easy: CurlEasy, status: Int)
    /// Body bytes: returns how many were taken, 0 to abort, or `cgw_curl_writefunc_pause()`.
    func curlBody(_ easy: CurlEasy, _ chunk: UnsafeRawBufferPointer) -> Int
    /// Upload bytes wanted: returns how many were written, 0 at the end, or `cgw_curl_readfunc_pause()`.
    func curlRead(_ easy: CurlEasy, into out: UnsafeMutableRawBufferPointer) -> Int
    /// The transfer ended (it has already been removed from the multi handle).
    func curlDone(_ easy: CurlEasy, error: BackendError?)
}

/// One libcurl easy handle with what a transfer on it needs: the header list, the parse state of the
/// response head, and the transfer's owner. Reused across transfers through `CurlMulti`'s pool, so
/// its buffers survive between calls.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// The transfer on this handle (nil while pooled).
    var owner: (any CurlTransfer)?
    /// Position in `CurlMulti.active` (O(1) removal).
    var activeIndex = -1
    /// The transfer's own timeout, for the error message.
    var timeoutMs = 0
    /// The transfer's HTTP version, for the error message of an HTTP/2 failure.
    var httpProtocol = BackendProtocol.http1
    /// The transfer's URL (the h2c work-around keys connections by its origin).
    var url = ""
    /// The multi handle this handle belongs to (it owns the pool, so it outlives the handle's use).
    unowned(unsafe) var multi: CurlMulti?
    /// When the transfer was first added (`EventLoop.now`): a transfer held back or started again
    /// gets what is left of its timeout, not all of it anew.
    var addedAt: UInt64 = 0
    /// h2c work-around (`H2cConnectionTracker`): the origin, the transfer's role, whether an opener
    /// has yet to send its request, whether it is held back, whether libcurl's attempt to open a
    /// socket for it was vetoed (a joiner that found no connection), and how often it was started
    /// again after a veto.
    var h2cOrigin: String?
    var h2cRole = H2cConnectionTracker.Role.opener
    var h2cOpening = false
    var h2cHeld = false
    var vetoedConnect = false
    var restarts = 0
    /// The socket callbacks of the work-around are set on this handle (cleared for other transfers).
    var watchesSockets = false
    /// Set by a callback that aborted the transfer, with the reason to report.
    var aborted: BackendError?
    /// The blank line that ends the final response head arrived (libcurl reports success for a head
    /// cut off by the peer's FIN; the gateway does not).
    var headComplete = false
    /// Status of the header block being read.
    private var blockStatus = 0
    /// libcurl's message for the last failure (`CURLOPT_ERRORBUFFER`), which names what the short
    /// `curl_easy_strerror` text does not (an HTTP/2 stream's error code, for one).
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))

    /// A handle; `tls` options stay set for every transfer it carries.
    init?(tls: BackendTLS? = nil) {
        guard let h = curl_easy_init() else { return nil }
        handle = h
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        cgw_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)
        if let tls {
            if let f = tls.caFile { cgw_easy_setopt_str(h, CURLOPT_CAINFO, f) }
            if let f = tls.certificate { cgw_easy_setopt_str(h, CURLOPT_SSLCERT, f) }
            if let f = tls.key { cgw_easy_setopt_str(h, CURLOPT_SSLKEY, f) }
        }
    }

    deinit {
        if let l = headerList { curl_slist_free_all(l) }
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Ready for the next transfer.
    func reset() {
        owner = nil
        activeIndex = -1
        aborted = nil
        headComplete = false
        blockStatus = 0
        errorBuffer[0] = 0
        h2cOrigin = nil
        h2cOpening = false
        h2cHeld = false
        vetoedConnect = false
        restarts = 0
        if let l = headerList {
            curl_slist_free_all(l)
            headerList = nil
        }
    }

    /// Sets what every transfer shares: URL, HTTP version, timeouts, callbacks routed to `owner`, and
    /// the header list (`Expect:` removed, `Content-Type` when given, then the spec's lines).
    func configure(url: String, timeoutMs: Int, contentType: String?, headers: BackendCallSpec) {
        let e = handle
        self.timeoutMs = timeoutMs
        httpProtocol = headers.httpProtocol
        self.url = url
        cgw_easy_setopt_str(e, CURLOPT_URL, url)
        cgw_easy_setopt_long(e, CURLOPT_NOSIGNAL, 1)
        let version: Int
        switch headers.httpProtocol {
        case .http1: version = Int(CURL_HTTP_VERSION_1_1)
        case .h2c: version = Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
        case .h2: version = Int(CURL_HTTP_VERSION_2TLS)
        }
        cgw_easy_setopt_long(e, CURLOPT_HTTP_VERSION, version)
        // HTTP/2: wait for a connection being opened to the same origin to turn out multiplexed
        // rather than open one per call; without it a burst of N calls made before the first
        // connection is up opens N connections, defeating HTTP/2's point. HTTP/1.1 never waits.
        cgw_easy_setopt_long(e, CURLOPT_PIPEWAIT, headers.httpProtocol == .http1 ? 0 : 1)
        cgw_easy_setopt_str(e, CURLOPT_PROTOCOLS_STR, "http,https")
        cgw_easy_setopt_long(e, CURLOPT_TIMEOUT_MS, timeoutMs)
        cgw_easy_setopt_long(e, CURLOPT_VERBOSE, CurlMulti.verbose ? 1 : 0)
        // Backends are called directly: an http_proxy variable in the gateway's environment must not
        // reroute them (and libcurl would read the proxy variables on every call).
        cgw_easy_setopt_str(e, CURLOPT_PROXY, "")
        let me = Unmanaged.passUnretained(self).toOpaque()
        cgw_easy_setopt_ptr(e, CURLOPT_PRIVATE, me)
        cgw_easy_setopt_ptr(e, CURLOPT_WRITEDATA, me)
        cgw_easy_setopt_ptr(e, CURLOPT_HEADERDATA, me)
        cgw_easy_setopt_ptr(e, CURLOPT_READDATA, me)
        cgw_easy_setopt_data_fn(e, CURLOPT_READFUNCTION, { ptr, size, n, userdata in
            guard let userdata, let ptr else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(userdata).takeUnretainedValue()
            return easy.owner?.curlRead(easy, into: UnsafeMutableRawBufferPointer(start: ptr, count: size * n)) ?? 0
        })
        cgw_easy_setopt_data_fn(e, CURLOPT_WRITEFUNCTION, { ptr, size, n, userdata in
            guard let userdata else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(userdata).takeUnretainedValue()
            return easy.owner?.curlBody(easy, UnsafeRawBufferPointer(start: ptr, count: size * n)) ?? 0
        })
        cgw_easy_setopt_data_fn(e, CURLOPT_HEADERFUNCTION, { ptr, size, n, userdata in
            guard let userdata else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(userdata).takeUnretainedValue()
            let count = size * n
            guard count > 0, let ptr else { return count }
            // 0 aborts the transfer: libcurl then closes the connection instead of pooling it.
            if easy.headerLine(UnsafeRawBufferPointer(start: ptr, count: count)) { return count }
            easy.aborted = .badResponse("conflicting Content-Length values")
            return 0
        })

        if let l = headerList { curl_slist_free_all(l) }
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue`: it costs a round trip on every body over 1 KiB.
        list = curl_slist_append(list, "Expect:")
        if let contentType { list = curl_slist_append(list, "Content-Type: \(contentType)") }
        headers.forEachHeaderLine { line in
            // libcurl wants C strings; its `Name:` (empty value) removes a default header.
            var end = line.count
            while end > 0, line[end - 1] == UInt8(ascii: " ") { end -= 1 }
            var copy = Array(line[0..<end])
            copy.append(0)
            copy.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { list = curl_slist_append(list, $0.baseAddress) }
            }
        }
        headerList = list
        cgw_easy_setopt_slist(e, CURLOPT_HTTPHEADER, list)
        cgw_easy_setopt_long(e, CURLOPT_UPLOAD, 0)
    }

    /// One header line from libcurl. A status line starts a new header block (after `100 Continue`
    /// or a redirect the earlier fields are dropped). Returns false to abort the transfer: two
    /// different Content-Length values make the framing invalid (RFC 9112 §6.3), and libcurl would
    /// otherwise accept them. HTTP/2 responses arrive the same way: libcurl writes a status line
    /// `HTTP/2 200` for the `:status` pseudo-header, then the fields with lower-case names
    /// (`BackendResponse` compares names without regard to case).
    func headerLine(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let owner else { return false }
        if raw.count >= 5, raw[0] == UInt8(ascii: "H"), raw[1] == UInt8(ascii: "T"), raw[2] == UInt8(ascii: "T"),
           raw[3] == UInt8(ascii: "P"), raw[4] == UInt8(ascii: "/") {
            owner.curlResponse.removeAllHeaders()
            headComplete = false
            blockStatus = Self.statusCode(ofStatusLine: raw)
            return true
        }
        if raw.count <= 2 && (raw.first == 0x0D || raw.first == 0x0A) {
            headComplete = true
            if blockStatus >= 200 { owner.curlHeadComplete(self, status: blockStatus) }
            return true
        }
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return true }
        let name = UnsafeRawBufferPointer(rebasing: raw[..<colon])
        // Trim bytes, not Characters: "\r\n" is a single Character in Swift.
        var start = colon + 1
        var end = raw.count
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 || raw[end - 1] == 0x0D || raw[end - 1] == 0x0A { end -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: raw[start..<end])
        owner.curlResponse.appendHeader(name: name, value: value)
        if BackendResponse.sameName(name, "content-length") {
            return !owner.curlResponse.hasConflictingContentLength
        }
        return true
    }

    /// The status code of `HTTP/1.1 200 OK` or `HTTP/2 200`: the three digits of the second token
    /// (whatever follows them: a reason, nothing, or the line's CRLF); 0 when there are none.
    static func statusCode(ofStatusLine raw: UnsafeRawBufferPointer) -> Int {
        guard let space = raw.firstIndex(of: 0x20) else { return 0 }
        var i = space + 1
        while i < raw.count, raw[i] == 0x20 { i += 1 }
        var code = 0
        var digits = 0
        while i < raw.count, digits < 3, raw[i] >= 0x30, raw[i] <= 0x39 {
            code = code * 10 + Int(raw[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits == 3 ? code : 0
    }

    /// The error for a failed transfer.
    func error(for code: CURLcode) -> BackendError {
        if let a = aborted { return a }
        let text = String(cString: curl_easy_strerror(code))
        if httpProtocol != .http1, let e = http2Error(for: code, text: text) { return e }
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .unavailable(text)
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout(milliseconds: timeoutMs)
        default:
            return .badResponse(text)
        }
    }

    /// What an HTTP/2 transfer's failure means, with libcurl's detailed message (the stream and
    /// the peer's error code), or nil for failures that are the same in every version.
    private func http2Error(for code: CURLcode, text: String) -> BackendError? {
        let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : text
        switch code {
        case CURLE_HTTP2_STREAM:
            // RST_STREAM from the backend, or a stream cut off by GOAWAY; other streams go on.
            return .badResponse("HTTP/2 stream failed: \(detail)")
        case let c where blockStatus == 0 && httpProtocol == .h2c
            && (c == CURLE_HTTP2 || c == CURLE_GOT_NOTHING || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR):
            // Nothing came back that HTTP/2 could read: typically an HTTP/1.1-only server, which
            // answers the connection preface with an HTTP/1.1 error or closes it.
            return .unavailable("no HTTP/2 response (\(detail)); does the backend speak h2c with prior knowledge?")
        case CURLE_HTTP2, CURLE_PARTIAL_FILE:
            // A connection closed under an open stream, or a framing error: libcurl's message says which.
            return .badResponse(detail)
        default:
            return nil
        }
    }
}
