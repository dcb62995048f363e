internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket

/// permessage-deflate on the way out (DESIGN §9). Every data frame is compressed when it enters the
/// send queue, never earlier: a reply that waits for earlier ones is kept plain and compressed when
/// its turn comes, so a compressor that keeps a window sees messages in the order they are sent.
/// Messages under the module's `minBytes` go plain (RSV1 clear), and so does any message while the
/// module's `enabled` is false after a reload (the extension stays agreed; plain messages are always
/// allowed, RFC 7692 §6).
extension WebSocketConnection {
    /// Whether a message of about `count` bytes is to be compressed (frame sizes count their few
    /// header bytes too, which does not matter against a threshold of hundreds of bytes).
    func compresses(_ count: Int) -> Bool {
        let c = module.config.compression
        return c.enabled && count >= c.minBytes
    }

    /// Compresses and queues one data frame. Returns false, having queued nothing, when the frame
    /// is to go plain: zlib failed, or a compressor without context was no help (output not
    /// smaller). A compressor with context always sends what it made: the client's window follows.
    func writeDeflated(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) -> Bool {
        let ctx = context
        // A connection's own compressor is created on first use and stored in `deflate`.
        guard let compressor = deflate?.compressor(loop: ctx.deflate, level: module.config.compression.level) else { return false }
        let sent: Bool? = compressor.compress(payload) { compressed in
            if !compressor.contextTakeover && compressed.count >= payload.count { return false }
            tcp.write { WebSocketFrameEncoder.writeFrame(opcode: opcode, rsv1: true, payload: compressed, into: &$0) }
            ctx.metrics.recordDeflate(input: payload.count, output: compressed.count)
            return true
        }
        if sent == false { ctx.metrics.recordDeflate(input: payload.count, output: nil) }
        return sent ?? false
    }

    /// Compresses and queues a frame this connection framed itself earlier (a waiting reply).
    func writeDeflated(framed: UnsafeRawBufferPointer) -> Bool {
        guard case .complete(let header, let size)? = try? WebSocketFrameHeader.parse(framed, requireMasked: false),
              !header.opcode.isControl, header.fin, size + header.payloadLength == framed.count else { return false }
        return writeDeflated(opcode: header.opcode, payload: UnsafeRawBufferPointer(rebasing: framed[size...]))
    }

    /// Queues a push for a compressing recipient: the frame compressed once and shared, when this
    /// connection compresses without context; otherwise compressed for this connection alone.
    func pushDeflated(_ frames: PushFrames, plain: SharedBytes) {
        guard let d = deflate else { return tcp.write(shared: plain) }
        let ctx = context
        if d.sharesCompressor {
            let compressor = ctx.deflate.sharedCompressor(level: module.config.compression.level, windowBits: d.serverMaxWindowBits)
            tcp.write(shared: frames.deflatedFrame(for: module.parser, plain: plain, compressor: compressor, metrics: &ctx.metrics))
        } else if !writeDeflated(framed: plain.unsafeBytes) {
            tcp.write(shared: plain)
        }
    }
}
