internal import GatewayBuffers
internal import GatewayIO
internal import CGatewayShims

/// Receives a streamed exchange's events, on the loop that started it.
public protocol BackendStreamHandler: AnyObject {
    /// The final (non-1xx) status and header fields arrived.
    func backendStream(_ stream: BackendStream, didReceiveHead status: Int, headers: [(name: String, value: String)])
    /// A piece of the response body. Return false to refuse it for now: it is offered again after
    /// `resumeDownload()` (the handler's client cannot take more).
    func backendStream(_ stream: BackendStream, didReceiveBody chunk: UnsafeRawBufferPointer) -> Bool
    /// The upload buffer fell below `BackendStream.uploadLowWater`: the client may send more.
    func backendStreamUploadDrained(_ stream: BackendStream)
    /// The exchange ended: completely (`error` nil) or not. The last event.
    func backendStream(_ stream: BackendStream, didFinishWith error: BackendError?)
}

/// One reverse-proxied exchange (`http[]`), streamed both ways through libcurl: request body pieces
/// go out as the client sends them (`appendUpload`), and the response comes in as libcurl reads it,
/// with backpressure in both directions. Unlike a `BackendCall` nothing is collected.
public final class BackendStream: CurlTransfer {
    /// Method, URL, header fields, timeout and response size limit (`body` and `hasBody` unused: the
    /// body is streamed).
    public var spec = BackendCallSpec()
    /// Whether the client sends a request body (streamed); false sends none.
    public var streamsUpload = false
    /// Length of a streamed upload when known (sent as `Content-Length`); nil sends it chunked.
    public var uploadLength: Int?
    /// Receives the events.
    public weak var handler: (any BackendStreamHandler)?
    /// The upload buffer's low-water mark: below it `backendStreamUploadDrained` lets the client
    /// send more. 256 KiB keeps a fast backend fed without buffering much per exchange.
    public static let uploadLowWater = 256 * 1024

    /// The libcurl handle while in flight.
    var easy: CurlEasy?
    var curlResponse = BackendResponse()
    private var uploadBuffer = ByteBuffer()
    private var uploadFinished = false
    private var uploadPaused = false
    private var downloadPaused = false
    private var bodyBytes = 0
    private var headSent = false
    private var finished = false
    private var laterTimer: LoopTimer?

    /// A stream to be filled in and started with `BackendClient.startStream`.
    public init() {}

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

    /// Asks libcurl to deliver the body again after the handler refused a piece.
    public func resumeDownload() {
        guard downloadPaused, let e = easy else { return }
        downloadPaused = false
        curl_easy_pause(e.handle, cgw_curlpause_cont())
    }

    private func continueUpload() {
        guard uploadPaused, let e = easy else { return }
        uploadPaused = false
        curl_easy_pause(e.handle, cgw_curlpause_cont())
    }

    /// Sets up `easy` for this exchange.
    func configure(_ easy: CurlEasy) {
        self.easy = easy
        let e = easy.handle
        // `Content-Type` is one of the forwarded fields (or removed with an empty value).
        easy.configure(url: spec.url, timeoutMs: spec.timeoutMs, contentType: nil, headers: spec)
        if streamsUpload {
            // Streamed body: an upload with the client's method; libcurl sends it chunked when the
            // length is unknown. NOBODY/HTTPGET are reset because the handle is reused.
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, 0)
            cgw_easy_setopt_long(e, CURLOPT_UPLOAD, 1)
            cgw_easy_setopt_off(e, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadLength ?? -1))
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, spec.method)
        } else {
            cgw_easy_setopt_long(e, CURLOPT_HTTPGET, 1)
            cgw_easy_setopt_str(e, CURLOPT_CUSTOMREQUEST, spec.method == "GET" ? nil : spec.method)
            cgw_easy_setopt_long(e, CURLOPT_NOBODY, spec.method == "HEAD" ? 1 : 0)
        }
    }

    /// Reports an end that happened while starting, from a later point of the loop.
    func finishLater(_ error: BackendError, on loop: EventLoop) {
        laterTimer = loop.makeTimer { [weak self] in self?.end(error) }
        laterTimer?.schedule(afterNanos: 0)
    }

    private func end(_ error: BackendError?) {
        guard !finished else { return }
        finished = true
        easy = nil
        laterTimer = nil
        handler?.backendStream(self, didFinishWith: error)
    }

    // MARK: CurlTransfer

    func curlHeadComplete(_ easy: CurlEasy, status: Int) {
        guard !headSent else { return }
        headSent = true
        curlResponse.status = status
        handler?.backendStream(self, didReceiveHead: status, headers: curlResponse.headers)
    }

    func curlBody(_ easy: CurlEasy, _ chunk: UnsafeRawBufferPointer) -> Int {
        guard let handler else { return 0 }
        if bodyBytes + chunk.count > spec.maxResponseBytes {
            easy.aborted = .responseTooLarge(limit: spec.maxResponseBytes)
            return 0
        }
        if !handler.backendStream(self, didReceiveBody: chunk) {
            downloadPaused = true
            return cgw_curl_writefunc_pause()
        }
        bodyBytes += chunk.count
        return chunk.count
    }

    func curlRead(_ easy: CurlEasy, into out: UnsafeMutableRawBufferPointer) -> Int {
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
            handler?.backendStreamUploadDrained(self)
        }
        return n
    }

    func curlDone(_ easy: CurlEasy, error: BackendError?) {
        end(error)
    }
}
