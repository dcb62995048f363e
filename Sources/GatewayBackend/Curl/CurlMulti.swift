public import GatewayIO
internal import GatewayBuffers
internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// HTTP calls to backends through libcurl's multi-socket interface, driven by one event loop: libcurl
/// tells us which sockets to watch (`CURLMOPT_SOCKETFUNCTION` → `EventLoop.watch`) and when to call it
/// back (`CURLMOPT_TIMERFUNCTION` → a `LoopTimer`); the loop reports readiness and we hand it to
/// `curl_multi_socket_action`. No thread besides the loop's is involved, and libcurl's connection
/// cache keeps connections to each backend origin alive between calls.
public final class BackendClient: FDWatcher {
    /// The loop that drives this client.
    public unowned(unsafe) let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private var timer: LoopTimer!
    private var free: [BackendRequest] = []
    /// Requests in flight; each knows its index (`activeIndex`) for O(1) removal.
    private var active: [BackendRequest] = []
    /// Calls in flight (both transports).
    public var inFlight: Int { curlInFlight + nativeInFlight }
    private var curlInFlight = 0
    private var closed = false
    /// The gateway's own HTTP/1.1 client for plain-http backends at IP addresses (nil: libcurl only).
    private var native: NativeHTTPClient?
    /// Calls in flight on the native client.
    private var nativeInFlight = 0

    /// `GATEWAY_CURL_VERBOSE=1` makes libcurl trace every backend exchange to stderr (debugging aid).
    static let verbose: Bool = getenv("GATEWAY_CURL_VERBOSE").map { String(cString: $0) == "1" } ?? false

    /// Initializes libcurl for the process. Call once, before any thread starts.
    public static func globalInit() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    /// Creates a client on `loop`. Call on the loop's thread.
    /// - Parameter maxConnectionsPerHost: cap on parallel connections to one backend host (0 = no
    ///   cap). Calls beyond it queue inside libcurl.
    ///   - nativeClient: use the gateway's own HTTP/1.1 client for plain-http backends at IP addresses.
    ///   - pipelineDepth: requests the native client may send on one connection before the first is
    ///     answered (1 = no pipelining, safe with any backend).
    public init?(loop: EventLoop, maxConnectionsPerHost: Int = 0, nativeClient: Bool = true, pipelineDepth: Int = 1) {
        guard let m = curl_multi_init() else { return nil }
        self.loop = loop
        multi = m
        if nativeClient {
            native = NativeHTTPClient(loop: loop, owner: self, maxConnectionsPerHost: maxConnectionsPerHost, pipelineDepth: pipelineDepth)
        }
        timer = loop.makeTimer { [unowned self] in self.timerFired() }
        let me = Unmanaged.passUnretained(self).toOpaque()
        cgw_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        cgw_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        cgw_multi_setopt_socket_fn(multi, { _, fd, what, userp, socketp in
            guard let userp else { return 0 }
            let client = Unmanaged<BackendClient>.fromOpaque(userp).takeUnretainedValue()
            client.socketCallback(fd: fd, what: what, socketp: socketp)
            return 0
        })
        cgw_multi_setopt_timer_fn(multi, { _, timeoutMs, userp in
            guard let userp else { return 0 }
            let client = Unmanaged<BackendClient>.fromOpaque(userp).takeUnretainedValue()
            client.timerCallback(timeoutMs: timeoutMs)
            return 0
        })
        if maxConnectionsPerHost > 0 {
            cgw_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        }
        // Keep enough idle connections for a busy loop's backends (default is 4 × easy handles).
        cgw_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
    }

    deinit {
        if !closed { close() }
    }

    /// A request from the pool, reset to defaults.
    public func makeRequest() -> BackendRequest? {
        if let r = free.popLast() { return r }
        return BackendRequest()
    }

    /// Starts a call. The outcome reaches `request.handler` on this loop, never synchronously.
    public func start(_ request: BackendRequest) {
        guard !closed else {
            finish(request, error: .cancelled)
            return
        }
        if let native, request.stream == nil, !request.streamUpload, let target = native.target(for: request.url) {
            request.inFlight = true
            nativeInFlight += 1
            native.start(request, target: target)
            return
        }
        guard let e = request.easy else {
            finish(request, error: .badResponse("libcurl could not create a handle"))
            return
        }
        cgw_easy_setopt_str(e, CURLOPT_URL, request.url)
        cgw_easy_setopt_long(e, CURLOPT_NOSIGNAL, 1)
        cgw_easy_setopt_long(e, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        cgw_easy_setopt_str(e, CURLOPT_PROTOCOLS_STR, "http,https")
        cgw_easy_setopt_long(e, CURLOPT_TIMEOUT_MS, request.timeoutMs)
        cgw_easy_setopt_long(e, CURLOPT_VERBOSE, Self.verbose ? 1 : 0)
        // Backends are called directly: an http_proxy variable in the gateway's environment must not
        // reroute them (and libcurl would read the proxy variables on every call).
        cgw_easy_setopt_str(e, CURLOPT_PROXY, "")
        let me = Unmanaged.passUnretained(request).toOpaque()
        cgw_easy_setopt_ptr(e, CURLOPT_PRIVATE, me)
        cgw_easy_setopt_ptr(e, CURLOPT_WRITEDATA, me)
        cgw_easy_setopt_ptr(e, CURLOPT_HEADERDATA, me)
        cgw_easy_setopt_ptr(e, CURLOPT_READDATA, me)
        cgw_easy_setopt_data_fn(e, CURLOPT_READFUNCTION, { ptr, size, n, userdata in
            guard let userdata, let ptr else { return 0 }
            let r = Unmanaged<BackendRequest>.fromOpaque(userdata).takeUnretainedValue()
            return r.readUpload(into: UnsafeMutableRawBufferPointer(start: ptr, count: size * n))
        })
        cgw_easy_setopt_data_fn(e, CURLOPT_WRITEFUNCTION, { ptr, size, n, userdata in
            guard let userdata else { return 0 }
            let r = Unmanaged<BackendRequest>.fromOpaque(userdata).takeUnretainedValue()
            let count = size * n
            if r.stream != nil {
                return r.streamBody(UnsafeRawBufferPointer(start: ptr, count: count))
            }
            if r.response.body.readableBytes + count > r.maxResponseBytes {
                r.aborted = .responseTooLarge(limit: r.maxResponseBytes)
                return 0  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
            }
            if count > 0, let ptr { r.response.body.write(UnsafeRawBufferPointer(start: ptr, count: count)) }
            return count
        })
        cgw_easy_setopt_data_fn(e, CURLOPT_HEADERFUNCTION, { ptr, size, n, userdata in
            guard let userdata else { return 0 }
            let r = Unmanaged<BackendRequest>.fromOpaque(userdata).takeUnretainedValue()
            let count = size * n
            guard count > 0, let ptr else { return count }
            // 0 aborts the transfer: libcurl then closes the connection instead of pooling it.
            if r.headerLine(UnsafeRawBufferPointer(start: ptr, count: count)) { return count }
            r.aborted = .badResponse("conflicting Content-Length values")
            return 0
        })

        if let h = request.headerList { curl_slist_free_all(h) }
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue`: it costs a round trip on every body over 1 KiB.
        list = curl_slist_append(list, "Expect:")
        if request.hasBody { list = curl_slist_append(list, "Content-Type: \(request.contentType)") }
        request.forEachHeaderLine { line in
            // libcurl wants C strings; its `Name:` (empty value) removes a default header.
            var copy = Array(line)
            while let l = copy.last, l == UInt8(ascii: " ") { copy.removeLast() }
            copy.append(0)
            copy.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { list = curl_slist_append(list, $0.baseAddress) }
            }
        }
        request.headerList = list
        cgw_easy_setopt_slist(e, CURLOPT_HTTPHEADER, list)

        cgw_easy_setopt_long(e, CURLOPT_UPLOAD, 0)
        if request.streamUpload {
            // Streamed body: an upload with the client's method; libcurl sends it chunked when the
            // length is unknown. NOBODY/HTTPGET are reset because the handle is reused.
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, 0)
            cgw_easy_setopt_long(e, CURLOPT_UPLOAD, 1)
            cgw_easy_setopt_off(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.uploadLength ?? -1))
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, request.method)
        } else if request.hasBody {
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, 0)
            cgw_easy_setopt_long(e, CURLOPT_POST, 1)
            request.body.withUnsafeReadableBytes { raw in
                // libcurl reads the body in place; `body` is not touched until completion.
                cgw_easy_setopt_ptr(e, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
                cgw_easy_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
            }
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, request.method == "POST" ? nil : request.method)
        } else {
            cgw_easy_setopt_long(e, CURLOPT_HTTPGET, 1)
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, request.method == "GET" ? nil : request.method)
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, request.method == "HEAD" ? 1 : 0)
        }
        request.inFlight = true
        request.activeIndex = active.count
        active.append(request)
        curlInFlight += 1
        let rc = curl_multi_add_handle(multi, e)
        if rc != CURLM_OK {
            deactivate(request)
            request.inFlight = false
            finish(request, error: .badResponse("curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))"))
        }
    }

    /// A native call finished.
    func nativeCompleted(_ request: BackendRequest, error: BackendError?) {
        guard request.inFlight else { return }
        request.inFlight = false
        nativeInFlight -= 1
        finish(request, error: error)
    }

    /// Cancels one call in flight; it completes with `.cancelled` (synchronously).
    public func cancel(_ request: BackendRequest) {
        guard request.inFlight, !closed, let e = request.easy, request.nativeConnection == nil else { return }
        curl_multi_remove_handle(multi, e)
        deactivate(request)
        finish(request, error: .cancelled)
    }

    /// Cancels every call in flight (each completes with `.cancelled`) and frees libcurl's state.
    public func close() {
        guard !closed else { return }
        closed = true
        timer.cancel()
        native?.close()
        native = nil
        let pending = active
        for r in pending {
            if let e = r.easy { curl_multi_remove_handle(multi, e) }
            deactivate(r)
            finish(r, error: .cancelled)
        }
        curl_multi_cleanup(multi)
        free.removeAll()
    }

    private func deactivate(_ request: BackendRequest) {
        let i = request.activeIndex
        guard i >= 0, i < active.count, active[i] === request else { return }
        let last = active.count - 1
        if i != last {
            active[i] = active[last]
            active[i].activeIndex = i
        }
        active.removeLast()
        request.activeIndex = -1
        request.inFlight = false
        curlInFlight -= 1
    }

    // MARK: libcurl callbacks

    private func socketCallback(fd: curl_socket_t, what: Int32, socketp: UnsafeMutableRawPointer?) {
        let current = socketp.map { Int(bitPattern: $0) - 1 }
        switch what {
        case Int32(CURL_POLL_REMOVE):
            if let id = current {
                loop.unwatch(id)
                curl_multi_assign(multi, fd, nil)
            }
        default:
            let readable = what == Int32(CURL_POLL_IN) || what == Int32(CURL_POLL_INOUT)
            let writable = what == Int32(CURL_POLL_OUT) || what == Int32(CURL_POLL_INOUT)
            if let id = current {
                loop.updateWatch(id, readable: readable, writable: writable)
            } else {
                let id = loop.watch(fd: fd, readable: readable, writable: writable, token: Int(fd), watcher: self)
                curl_multi_assign(multi, fd, UnsafeMutableRawPointer(bitPattern: id + 1))
            }
        }
    }

    private func timerCallback(timeoutMs: Int) {
        if timeoutMs < 0 {
            timer.cancel()
        } else {
            // 0 means "call me as soon as possible": the timer fires after this tick's events.
            timer.schedule(afterNanos: UInt64(timeoutMs) * 1_000_000)
        }
    }

    private func timerFired() {
        var running: Int32 = 0
        curl_multi_socket_action(multi, cgw_curl_socket_timeout(), 0, &running)
        drainMessages()
    }

    /// Readiness of one of libcurl's sockets.
    public func fdReady(_ fd: Int32, token: Int, readable: Bool, writable: Bool, error: Bool) {
        var mask: Int32 = 0
        if readable { mask |= Int32(CURL_CSELECT_IN) }
        if writable { mask |= Int32(CURL_CSELECT_OUT) }
        if error { mask |= Int32(CURL_CSELECT_ERR) }
        var running: Int32 = 0
        curl_multi_socket_action(multi, fd, mask, &running)
        drainMessages()
    }

    private func drainMessages() {
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let code = cgw_msg_result(msg)
            var priv: UnsafeMutableRawPointer?
            cgw_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &priv)
            curl_multi_remove_handle(multi, easy)
            guard let priv else { continue }
            let request = Unmanaged<BackendRequest>.fromOpaque(priv).takeUnretainedValue()
            deactivate(request)
            if code == CURLE_OK {
                var status = 0
                cgw_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                request.response.status = status
                // libcurl is lenient where the gateway must not be (RFC 9112 §6.3): a head cut short by
                // the peer, or two different Content-Length values, is an invalid response.
                if !request.headComplete {
                    finish(request, error: .badResponse("connection closed in the middle of the response head"))
                } else if Self.conflictingContentLength(request.response) {
                    finish(request, error: .badResponse("conflicting Content-Length values"))
                } else {
                    finish(request, error: nil)
                }
            } else {
                finish(request, error: Self.map(code, request: request))
            }
        }
    }

    private func finish(_ request: BackendRequest, error: BackendError?) {
        request.error = error
        let h = request.handler
        h?.backendRequestDidComplete(request)
        request.reset()
        if !closed && free.count < 1024 { free.append(request) }
    }

    static func conflictingContentLength(_ response: BackendResponse) -> Bool {
        var seen: String?
        for value in response.values("content-length") {
            for part in value.split(separator: ",") {
                let v = String(part).trimmingASCIISpaces()
                if let s = seen, s != v { return true }
                seen = v
            }
        }
        return false
    }

    static func map(_ code: CURLcode, request: BackendRequest) -> BackendError {
        if let a = request.aborted { return a }
        let text = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .unavailable(text)
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout(milliseconds: request.timeoutMs)
        default:
            return .badResponse(text)
        }
    }
}

extension BackendRequest {
    /// READFUNCTION for a streamed upload: copy what is buffered, pause when empty and not finished.
    func readUpload(into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(out.count, uploadBuffer.readableBytes)
        if n == 0 {
            if uploadFinished { return 0 }
            uploadPaused = true
            return cgw_curl_readfunc_pause()
        }
        uploadBuffer.withUnsafeReadableBytes { src in
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<n]))
        }
        let before = uploadBuffer.readableBytes
        uploadBuffer.moveReaderIndex(forwardBy: n)
        if before >= Self.uploadLowWater && uploadBuffer.readableBytes < Self.uploadLowWater {
            stream?.backendUploadDrained(self)
        }
        return n
    }

    /// WRITEFUNCTION in streaming mode.
    func streamBody(_ chunk: UnsafeRawBufferPointer) -> Int {
        guard let s = stream else { return 0 }
        if streamBytes + chunk.count > maxResponseBytes {
            aborted = .responseTooLarge(limit: maxResponseBytes)
            return 0
        }
        if !s.backendResponseBody(self, chunk) {
            downloadPaused = true
            return cgw_curl_writefunc_pause()
        }
        streamBytes += chunk.count
        return chunk.count
    }

    /// Parses one header line from libcurl. A status line starts a new header block (after `100
    /// Continue` or a redirect the earlier headers are discarded). Returns false to abort the transfer:
    /// two different Content-Length values make the framing invalid (RFC 9112 §6.3) and libcurl would
    /// otherwise accept them.
    func headerLine(_ raw: UnsafeRawBufferPointer) -> Bool {
        if raw.count >= 5, raw[0] == UInt8(ascii: "H"), raw[1] == UInt8(ascii: "T"), raw[2] == UInt8(ascii: "T"),
           raw[3] == UInt8(ascii: "P"), raw[4] == UInt8(ascii: "/") {
            response.removeAllHeaders()
            headComplete = false
            // `HTTP/1.1 200 OK`: the status code is the second token.
            let parts = raw.split(separator: 0x20, maxSplits: 2)
            if parts.count >= 2 { streamStatus = Int(String(decoding: parts[1], as: UTF8.self)) ?? 0 }
            return true
        }
        if raw.count <= 2 && (raw.first == 0x0D || raw.first == 0x0A) {
            headComplete = true
            // End of a header block: the final one (not 1xx) starts a streamed response.
            if let s = stream, !streamHeadSent, streamStatus >= 200 {
                streamHeadSent = true
                response.status = streamStatus
                s.backendResponseHead(self, status: streamStatus, headers: response.headers)
            }
            return true
        }
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return true }
        // Trim bytes, not Characters: "\r\n" is a single Character in Swift.
        var start = colon + 1
        var end = raw.count
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 || raw[end - 1] == 0x0D || raw[end - 1] == 0x0A { end -= 1 }
        let name = UnsafeRawBufferPointer(rebasing: raw[..<colon])
        response.appendHeader(name: name, value: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
        if BackendResponse.sameName(name, "content-length") {
            return !BackendClient.conflictingContentLength(response)
        }
        return true
    }
}
