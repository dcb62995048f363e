internal import CGatewayShims
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

/// h2c on libcurl before 8.0: openers, joiners and held transfers (see `H2cConnectionTracker`).
/// libcurl's open-socket callback tells which transfer opens a connection (a joiner is vetoed
/// there, before anything is sent), its close-socket callback when one is gone, and the pre-request
/// callback when an opener is about to send its request (its connection is HTTP/2 from then on).
extension CurlMulti {
    /// Sets the HTTP version and connection options of `easy`'s next transfer from its role, or
    /// holds it back; returns true when held (the caller must not add it to libcurl). Transfers
    /// other than h2c (or with a libcurl that needs no work-around) keep what `CurlEasy.configure`
    /// set, and lose the callbacks a previous h2c transfer set.
    func applyConnectionRole(_ easy: CurlEasy) -> Bool {
        guard easy.httpProtocol == .h2c, h2c != nil else {
            if easy.watchesSockets { stopWatchingSockets(easy) }
            return false
        }
        let origin = H2cConnectionTracker.origin(of: easy.url)
        easy.h2cOrigin = origin
        let role = h2c?.roleForNewTransfer(origin: origin) ?? .opener
        if role == .wait {
            hold(easy, origin: origin)
            return true
        }
        setRole(role, of: easy)
        return false
    }

    /// Starts a vetoed joiner again (`H2cConnectionTracker.roleForRestart`): as the opener of a new
    /// connection, or held until the one being opened is ready. A burst of calls that all find the
    /// same dead connection, or that all exceed the server's stream limit, thus opens one connection,
    /// not one each. Returns the error to finish it with when it cannot go on (out of time, or
    /// restarted too often: something keeps closing the connections it joins).
    func restartVetoed(_ easy: CurlEasy) -> BackendError? {
        easy.vetoedConnect = false
        easy.restarts += 1
        easy.headComplete = false
        guard easy.restarts <= 5, let origin = easy.h2cOrigin else {
            return .unavailable("no HTTP/2 connection to \(easy.h2cOrigin ?? easy.url) could be kept open")
        }
        let role = h2c?.roleForRestart(origin: origin) ?? .opener
        if role == .wait {
            hold(easy, origin: origin)
            return nil
        }
        setRole(role, of: easy)
        return readd(easy)
    }

    /// The end of a transfer (any outcome): a held one leaves the queue, and an opener that never
    /// got ready lets the transfers held for it go on (one of them opens next).
    func h2cTransferEnded(_ easy: CurlEasy) {
        if easy.h2cHeld, let origin = easy.h2cOrigin {
            easy.h2cHeld = false
            h2cHeld[origin]?.removeAll { $0 === easy }
        }
        guard easy.h2cOpening, let origin = easy.h2cOrigin else { return }
        easy.h2cOpening = false
        h2c?.openerEnded(origin: origin)
        scheduleRelease(origin)
    }

    private func hold(_ easy: CurlEasy, origin: String) {
        easy.h2cHeld = true
        h2cHeld[origin, default: []].append(easy)
        armExpiry()
    }

    /// Arms the expiry timer for the earliest deadline among held transfers (none: cancelled).
    private func armExpiry() {
        var earliest = UInt64.max
        for queue in h2cHeld.values {
            for easy in queue { earliest = min(earliest, easy.addedAt &+ UInt64(easy.timeoutMs) * 1_000_000) }
        }
        guard earliest != .max else {
            h2cExpiryTimer?.cancel()
            return
        }
        if h2cExpiryTimer == nil {
            h2cExpiryTimer = loop.makeTimer { [unowned(unsafe) self] in self.expireHeld() }
        }
        h2cExpiryTimer?.schedule(at: earliest)
    }

    /// Ends held transfers whose timeout has passed (their opener is slower than their timeout).
    private func expireHeld() {
        let now = loop.now
        var expired: [CurlEasy] = []
        for queue in h2cHeld.values {
            for easy in queue where now >= easy.addedAt &+ UInt64(easy.timeoutMs) * 1_000_000 { expired.append(easy) }
        }
        for easy in expired { finish(easy, error: .timeout(milliseconds: easy.timeoutMs)) }
        armExpiry()
    }

    /// An opener is about to send its request (libcurl's pre-request callback, inside
    /// `curl_multi_socket_action`): its connection switches to HTTP/2 right after, in the same
    /// call, so the held transfers are started on the next tick (libcurl's API must not be called
    /// from its callbacks).
    fileprivate func openerReady(_ easy: CurlEasy) {
        guard easy.h2cOpening, let origin = easy.h2cOrigin else { return }
        easy.h2cOpening = false
        h2c?.openerReady(origin: origin)
        scheduleRelease(origin)
    }

    private func scheduleRelease(_ origin: String) {
        guard h2cHeld[origin]?.isEmpty == false else { return }
        h2cReleases.append(origin)
        if h2cReleaseTimer == nil {
            h2cReleaseTimer = loop.makeTimer { [unowned(unsafe) self] in self.releaseHeld() }
        }
        if h2cReleaseTimer?.isScheduled == false { h2cReleaseTimer?.schedule(afterNanos: 0) }
    }

    /// Starts the transfers held for the origins in `h2cReleases`, oldest first, each with the role
    /// it gets now (joiners of the ready connection, usually); those that must wait again (another
    /// opener was chosen among them) stay held, ahead of any held meanwhile.
    private func releaseHeld() {
        let origins = h2cReleases
        h2cReleases.removeAll()
        for origin in origins {
            guard let queue = h2cHeld.removeValue(forKey: origin), !queue.isEmpty else { continue }
            var stillHeld: [CurlEasy] = []
            for easy in queue {
                guard stillHeld.isEmpty else {
                    stillHeld.append(easy)
                    continue
                }
                easy.h2cHeld = false
                let role = h2c?.roleForNewTransfer(origin: origin) ?? .opener
                if role == .wait {
                    easy.h2cHeld = true
                    stillHeld.append(easy)
                    continue
                }
                setRole(role, of: easy)
                if let e = readd(easy) { finish(easy, error: e) }
            }
            if !stillHeld.isEmpty { h2cHeld[origin, default: []].insert(contentsOf: stillHeld, at: 0) }
        }
    }

    private func setRole(_ role: H2cConnectionTracker.Role, of easy: CurlEasy) {
        let e = easy.handle
        easy.h2cRole = role
        easy.h2cOpening = role == .opener
        let version = role == .opener ? Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) : Int(CURL_HTTP_VERSION_2_0)
        cgw_easy_setopt_long(e, CURLOPT_HTTP_VERSION, version)
        cgw_easy_setopt_long(e, CURLOPT_FRESH_CONNECT, role == .opener ? 1 : 0)
        guard !easy.watchesSockets else { return }
        easy.watchesSockets = true
        let me = Unmanaged.passUnretained(easy).toOpaque()
        cgw_easy_setopt_ptr(e, CURLOPT_OPENSOCKETDATA, me)
        cgw_easy_setopt_opensocket_fn(e, { clientp, _, address in
            guard let clientp, let address else { return -1 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(clientp).takeUnretainedValue()
            return easy.multi?.openSocket(for: easy, address) ?? -1
        })
        cgw_easy_setopt_ptr(e, CURLOPT_PREREQDATA, me)
        cgw_easy_setopt_prereq_fn(e, { clientp, _, _, _, _ in
            guard let clientp else { return 0 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(clientp).takeUnretainedValue()
            easy.multi?.openerReady(easy)
            return 0  // CURL_PREREQFUNC_OK
        })
        // Connections keep the close callback of the handle that opened them, so its data is the
        // multi handle (which outlives every connection), not the handle.
        cgw_easy_setopt_ptr(e, CURLOPT_CLOSESOCKETDATA, Unmanaged.passUnretained(self).toOpaque())
        cgw_easy_setopt_closesocket_fn(e, { clientp, fd in
            if let clientp { Unmanaged<CurlMulti>.fromOpaque(clientp).takeUnretainedValue().h2c?.socketClosed(fd: fd) }
            return Glibc.close(fd)
        })
    }

    private func stopWatchingSockets(_ easy: CurlEasy) {
        let e = easy.handle
        easy.watchesSockets = false
        cgw_easy_setopt_opensocket_fn(e, nil)
        cgw_easy_setopt_closesocket_fn(e, nil)
        cgw_easy_setopt_prereq_fn(e, nil)
        cgw_easy_setopt_long(e, CURLOPT_FRESH_CONNECT, 0)
    }

    /// libcurl wants a socket for `easy`: an opener gets one (counted), a joiner is vetoed
    /// (`CURL_SOCKET_BAD` fails its connect before anything is sent).
    fileprivate func openSocket(for easy: CurlEasy, _ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        guard easy.h2cRole == .opener else {
            easy.vetoedConnect = true
            return -1
        }
        let fd = cgw_curl_open_socket(address)
        if fd >= 0, let origin = easy.h2cOrigin { h2c?.socketOpened(fd: fd, origin: origin) }
        return fd
    }
}

extension H2cConnectionTracker {
    /// Whether the libcurl loaded at run time needs the work-around: versions before 8.0.0.
    static var neededByLoadedLibcurl: Bool { cgw_curl_version_num() < 0x08_00_00 }
}
