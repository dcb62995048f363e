internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// h2c on libcurl before 8.0: openers and joiners (see `H2cConnectionTracker`). libcurl's
/// open-socket callback tells which transfer opens a connection (a joiner is vetoed there, before
/// anything is sent), its close-socket callback when one is gone.
extension CurlMulti {
    /// Sets the HTTP version and connection options of `easy`'s next transfer from its role.
    /// Transfers other than h2c (or with a libcurl that needs no work-around) keep what
    /// `CurlEasy.configure` set, and lose the socket callbacks a previous h2c transfer set.
    func applyConnectionRole(_ easy: CurlEasy) {
        guard easy.httpProtocol == .h2c, h2c != nil else {
            if easy.watchesSockets { stopWatchingSockets(easy) }
            return
        }
        let origin = H2cConnectionTracker.origin(of: easy.url)
        easy.h2cOrigin = origin
        let role = h2c?.roleForNewTransfer(origin: origin) ?? .opener
        setRole(role, of: easy)
    }

    /// Starts a vetoed joiner again as an opener. Returns the error to finish it with when it
    /// cannot be (restarted too often: something keeps closing the connections it joins).
    func restartAsOpener(_ easy: CurlEasy) -> BackendError? {
        easy.vetoedConnect = false
        easy.restarts += 1
        guard easy.restarts <= 3, let origin = easy.h2cOrigin else {
            return .unavailable("no HTTP/2 connection to \(easy.h2cOrigin ?? easy.url) could be kept open")
        }
        h2c?.promoteToOpener(origin: origin)
        setRole(.opener, of: easy)
        easy.headComplete = false
        return readd(easy)
    }

    /// The end of a transfer: an opener that never opened its socket stops counting as opening.
    func h2cTransferEnded(_ easy: CurlEasy) {
        guard easy.h2cOpening, let origin = easy.h2cOrigin else { return }
        easy.h2cOpening = false
        h2c?.openerEnded(origin: origin)
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
        cgw_easy_setopt_ptr(e, CURLOPT_OPENSOCKETDATA, Unmanaged.passUnretained(easy).toOpaque())
        cgw_easy_setopt_opensocket_fn(e, { clientp, _, address in
            guard let clientp, let address else { return -1 }
            let easy = Unmanaged<CurlEasy>.fromOpaque(clientp).takeUnretainedValue()
            return easy.multi?.openSocket(for: easy, address) ?? -1
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
        if fd >= 0, let origin = easy.h2cOrigin {
            h2c?.socketOpened(fd: fd, origin: origin, firstForTransfer: easy.h2cOpening)
            easy.h2cOpening = false
        }
        return fd
    }
}

extension H2cConnectionTracker {
    /// Whether the libcurl loaded at run time needs the work-around: versions before 8.0.0.
    static var neededByLoadedLibcurl: Bool { cgw_curl_version_num() < 0x08_00_00 }
}
