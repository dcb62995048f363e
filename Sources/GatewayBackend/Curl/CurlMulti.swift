internal import GatewayIO
internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// libcurl's multi-socket interface driven by one event loop: libcurl says which sockets to watch
/// (`CURLMOPT_SOCKETFUNCTION` → `EventLoop.watch`) and when to call it back
/// (`CURLMOPT_TIMERFUNCTION` → a `LoopTimer`); the loop reports readiness and we hand it to
/// `curl_multi_socket_action`. No thread besides the loop's is involved, and libcurl's connection
/// cache (one per multi handle) keeps connections to each backend alive between transfers.
final class CurlMulti: FDWatcher {
    unowned(unsafe) let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private var timer: LoopTimer?
    /// Easy handles not in use; a handle is taken per transfer and given back at its end.
    private var easyPool: [CurlEasy] = []
    /// Transfers in flight, each knowing its index (`CurlEasy.activeIndex`).
    private var active = SwapRemoveList<CurlEasy>()
    private var closed = false
    /// CA and client certificate for `https://` backends, set on every handle made.
    var tls: BackendTLS?
    /// Roles of h2c transfers (`CurlMulti+H2c.swift`); nil where libcurl reuses prior-knowledge
    /// connections correctly (8.0 and later), and h2c transfers simply ask for prior knowledge.
    var h2c: H2cConnectionTracker? = H2cConnectionTracker.neededByLoadedLibcurl ? H2cConnectionTracker() : nil
    /// h2c transfers held back while their origin's opener gets ready, by origin, oldest first.
    var h2cHeld: [String: [CurlEasy]] = [:]
    /// Origins whose held transfers go on at the next tick, and the timer that does it.
    var h2cReleases: [String] = []
    var h2cReleaseTimer: LoopTimer?
    /// Fails held transfers whose timeout passes while they wait (libcurl does not time them).
    var h2cExpiryTimer: LoopTimer?

    /// `GATEWAY_CURL_VERBOSE=1` makes libcurl trace every backend exchange to stderr (debugging aid).
    static let verbose: Bool = getenv("GATEWAY_CURL_VERBOSE").map { String(cString: $0) == "1" } ?? false

    /// Creates the multi handle; nil when libcurl cannot.
    /// - Parameter maxConnectionsPerHost: libcurl's `CURLMOPT_MAX_HOST_CONNECTIONS` (0 = no cap).
    init?(loop: EventLoop, maxConnectionsPerHost: Int) {
        guard let m = curl_multi_init() else { return nil }
        self.loop = loop
        multi = m
        timer = loop.makeTimer { [unowned(unsafe) self] in self.timerFired() }
        let me = Unmanaged.passUnretained(self).toOpaque()
        cgw_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        cgw_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        cgw_multi_setopt_socket_fn(multi, { _, fd, what, userp, socketp in
            guard let userp else { return 0 }
            let client = Unmanaged<CurlMulti>.fromOpaque(userp).takeUnretainedValue()
            client.socketCallback(fd: fd, what: what, socketp: socketp)
            return 0
        })
        cgw_multi_setopt_timer_fn(multi, { _, timeoutMs, userp in
            guard let userp else { return 0 }
            let client = Unmanaged<CurlMulti>.fromOpaque(userp).takeUnretainedValue()
            client.timerCallback(timeoutMs: timeoutMs)
            return 0
        })
        if maxConnectionsPerHost > 0 {
            cgw_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        }
        // HTTP/2 calls (`protocol` h2c/h2) share a connection per origin, up to the server's
        // SETTINGS_MAX_CONCURRENT_STREAMS (and libcurl's own 100) streams each; HTTP/1.1 transfers
        // are not affected (libcurl has no HTTP/1.1 pipelining). Already libcurl's default since
        // 7.62, set so the intent does not hang on a default.
        cgw_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        // Keep enough idle connections for a busy loop's backends (default is 4 × easy handles).
        cgw_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
    }

    deinit {
        if !closed { close() }
    }

    /// An easy handle for a new transfer owned by `owner`; nil when libcurl cannot allocate one.
    func takeEasy(for owner: any CurlTransfer) -> CurlEasy? {
        guard let e = easyPool.popLast() ?? CurlEasy(tls: tls) else { return nil }
        e.owner = owner
        e.multi = self
        return e
    }

    /// Adds a configured transfer. Returns the error when libcurl refuses it (the handle is then
    /// back in the pool and nothing is reported to the owner).
    func add(_ easy: CurlEasy) -> BackendError? {
        guard !closed else {
            recycle(easy)
            return .cancelled
        }
        easy.activeIndex = active.append(easy)
        easy.addedAt = loop.now
        // Held back (an h2c connection to its origin is being opened): started when it is ready.
        if applyConnectionRole(easy) { return nil }
        let rc = curl_multi_add_handle(multi, easy.handle)
        guard rc == CURLM_OK else {
            deactivate(easy)
            recycle(easy)
            return .badResponse("curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))")
        }
        return nil
    }

    /// Ends a transfer in flight now; its owner gets `curlDone` with `.cancelled`.
    func cancel(_ easy: CurlEasy) {
        guard easy.activeIndex >= 0, !closed else { return }
        curl_multi_remove_handle(multi, easy.handle)
        finish(easy, error: .cancelled)
    }

    /// Starts a streamed exchange (reverse proxy).
    func start(_ stream: BackendStream) {
        guard let easy = takeEasy(for: stream) else {
            stream.finishLater(.badResponse("libcurl could not create a handle"), on: loop)
            return
        }
        stream.configure(easy)
        if let e = add(easy) { stream.finishLater(e, on: loop) }
    }

    /// Cancels a stream in flight (its handler hears `.cancelled` now).
    func cancel(_ stream: BackendStream) {
        if let e = stream.easy { cancel(e) }
    }

    /// Ends every transfer with `.cancelled` and frees libcurl's state.
    func close() {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        h2cReleaseTimer?.cancel()
        h2cExpiryTimer?.cancel()
        let pending = active.elements
        for e in pending {
            curl_multi_remove_handle(multi, e.handle)
            finish(e, error: .cancelled)
        }
        curl_multi_cleanup(multi)
        easyPool.removeAll()
    }

    /// Adds `easy` again, or for the first time after it was held, as a new transfer with the options
    /// it has and what is left of its timeout (the h2c work-around).
    func readd(_ easy: CurlEasy) -> BackendError? {
        let elapsedMs = Int((loop.now &- easy.addedAt) / 1_000_000)
        guard elapsedMs < easy.timeoutMs else { return .timeout(milliseconds: easy.timeoutMs) }
        cgw_easy_setopt_long(easy.handle, CURLOPT_TIMEOUT_MS, easy.timeoutMs - elapsedMs)
        let rc = curl_multi_add_handle(multi, easy.handle)
        guard rc == CURLM_OK else {
            return .badResponse("curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))")
        }
        return nil
    }

    private func deactivate(_ easy: CurlEasy) {
        guard active.remove(at: easy.activeIndex, if: { $0 === easy }, reindex: { $0.activeIndex = $1 }) else { return }
        easy.activeIndex = -1
    }

    private func recycle(_ easy: CurlEasy) {
        easy.reset()
        if !closed && easyPool.count < 1024 { easyPool.append(easy) }
    }

    /// Removes `easy` from the active set, tells its owner, and pools the handle.
    func finish(_ easy: CurlEasy, error: BackendError?) {
        h2cTransferEnded(easy)
        deactivate(easy)
        let owner = easy.owner
        owner?.curlDone(easy, error: error)
        recycle(easy)
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
            timer?.cancel()
        } else {
            // 0 means "call me as soon as possible": the timer fires after this tick's events.
            timer?.schedule(afterNanos: UInt64(timeoutMs) * 1_000_000)
        }
    }

    private func timerFired() {
        var running: Int32 = 0
        curl_multi_socket_action(multi, cgw_curl_socket_timeout(), 0, &running)
        drainMessages()
    }

    /// Readiness of one of libcurl's sockets.
    func fdReady(_ fd: Int32, token: Int, readable: Bool, writable: Bool, error: Bool) {
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
            guard msg.pointee.msg == CURLMSG_DONE, let handle = msg.pointee.easy_handle else { continue }
            let code = cgw_msg_result(msg)
            var priv: UnsafeMutableRawPointer?
            cgw_easy_getinfo_ptr(handle, CURLINFO_PRIVATE, &priv)
            curl_multi_remove_handle(multi, handle)
            guard let priv else { continue }
            let easy = Unmanaged<CurlEasy>.fromOpaque(priv).takeUnretainedValue()
            if easy.vetoedConnect {
                // An h2c joiner found no connection: nothing was sent, start it again.
                if let e = restartVetoed(easy) { finish(easy, error: e) }
                continue
            }
            guard code == CURLE_OK else {
                finish(easy, error: easy.error(for: code))
                continue
            }
            var status = 0
            cgw_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            easy.owner?.curlResponse.status = status
            // libcurl is lenient where the gateway must not be (RFC 9112 §6.3): a head cut short by
            // the peer, or two different Content-Length values, is an invalid response.
            if !easy.headComplete {
                finish(easy, error: .badResponse("connection closed in the middle of the response head"))
            } else if easy.owner?.curlResponse.hasConflictingContentLength == true {
                finish(easy, error: .badResponse("conflicting Content-Length values"))
            } else {
                finish(easy, error: nil)
            }
        }
    }
}
