internal import CGatewayShims
internal import GatewayBuffers

/// Backend calls through libcurl: every URL libcurl speaks (host names, https), and everything when
/// `io.backendClient` is `curl`. The response is collected into the call.
final class CurlTransport: BackendTransport {
    private let multi: CurlMulti
    unowned(unsafe) var sink: (any BackendTransportSink)?

    init(multi: CurlMulti) {
        self.multi = multi
    }

    /// Carries every call (libcurl speaks every URL the config accepts).
    func start(_ call: BackendCall) -> Bool {
        let adapter = CurlCallTransfer(call: call, transport: self)
        guard let easy = multi.takeEasy(for: adapter) else {
            sink?.transport(self, didFinish: call, error: .badResponse("libcurl could not create a handle"))
            return true
        }
        call.curl = easy
        let spec = call.spec
        let e = easy.handle
        easy.configure(url: spec.url, timeoutMs: spec.timeoutMs, contentType: spec.hasBody ? spec.contentType : nil, headers: spec)
        if spec.hasBody {
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, 0)
            cgw_easy_setopt_long(e, CURLOPT_POST, 1)
            call.spec.body.withUnsafeReadableBytes { raw in
                // libcurl reads the body in place; the spec is not touched until completion.
                cgw_easy_setopt_ptr(e, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
                cgw_easy_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count))
            }
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, spec.method == "POST" ? nil : spec.method)
        } else {
            cgw_easy_setopt_long(e, CURLOPT_HTTPGET, 1)
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, spec.method == "GET" ? nil : spec.method)
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, spec.method == "HEAD" ? 1 : 0)
        }
        if let error = multi.add(easy) {
            call.curl = nil
            sink?.transport(self, didFinish: call, error: error)
        }
        return true
    }

    func close() {
        // The multi handle is closed by its owner (`BackendClient`), which ends every transfer.
    }

    fileprivate func finished(_ call: BackendCall, error: BackendError?) {
        call.curl = nil
        sink?.transport(self, didFinish: call, error: error)
    }
}

/// Connects one call to its libcurl transfer.
private final class CurlCallTransfer: CurlTransfer {
    let call: BackendCall
    unowned let transport: CurlTransport

    init(call: BackendCall, transport: CurlTransport) {
        self.call = call
        self.transport = transport
    }

    var curlResponse: BackendResponse {
        get { call.response }
        _modify { yield &call.response }
        set { call.response = newValue }
    }

    func curlHeadComplete(_ easy: CurlEasy, status: Int) {}

    func curlBody(_ easy: CurlEasy, _ chunk: UnsafeRawBufferPointer) -> Int {
        if call.response.body.readableBytes + chunk.count > call.spec.maxResponseBytes {
            easy.aborted = .responseTooLarge(limit: call.spec.maxResponseBytes)
            return 0  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
        }
        if !chunk.isEmpty { call.response.body.write(chunk) }
        return chunk.count
    }

    func curlRead(_ easy: CurlEasy, into out: UnsafeMutableRawBufferPointer) -> Int { 0 }

    func curlDone(_ easy: CurlEasy, error: BackendError?) {
        transport.finished(call, error: error)
    }
}
