internal import CGatewayShims
public import GatewayBuffers

/// Compresses messages for permessage-deflate (RFC 7692 §7.2.1): raw deflate, each message ended
/// with a sync flush whose four-octet tail is removed.
///
/// **Without context takeover** (`contextTakeover: false`) the stream is reset after every message,
/// so the output depends on nothing but the message: one compressor per event loop serves every
/// connection of that loop, and a fan-out frame compressed once is valid for every recipient whose
/// negotiated `server_max_window_bits` is at least `windowBits`. **With context takeover** the window
/// carries over, so the compressor belongs to one connection and must see its messages in the
/// order they are sent; its output must then always be sent (the peer's window follows ours).
///
/// The zlib stream is created on first use, so a compressor that never compresses holds no zlib
/// memory (about 256 KiB at 15 window bits and memLevel 8 once it has).
public final class PerMessageDeflateCompressor {
    /// zlib level, 1 (fastest) to 9 (smallest).
    public let level: Int
    /// LZ77 window, 9–15 bits: what the peer negotiated as `server_max_window_bits`, at most.
    public let windowBits: Int
    /// zlib memLevel, 1–9.
    public let memLevel: Int
    /// Whether the window survives from one message to the next.
    public let contextTakeover: Bool
    private var stream: UnsafeMutablePointer<z_stream>?
    private let output: PerMessageDeflateBuffer

    /// Creates a compressor; no zlib memory is allocated until the first message.
    /// - Parameters:
    ///   - level: defaults to 1, zlib's fastest: on chatty JSON it gets most of level 6's ratio for
    ///     a fraction of the CPU, and CPU per message is what bounds a gateway.
    ///   - windowBits: defaults to 15, the best ratio; clamped to 9–15.
    ///   - memLevel: defaults to 8, zlib's default.
    ///   - contextTakeover: defaults to false (see the type's documentation).
    ///   - output: where compressed bytes go; pass a loop's shared buffer to keep one per loop.
    public init(level: Int = 1, windowBits: Int = 15, memLevel: Int = PerMessageDeflate.defaultMemLevel,
                contextTakeover: Bool = false, output: PerMessageDeflateBuffer = PerMessageDeflateBuffer()) {
        self.level = min(9, max(1, level))
        self.windowBits = min(15, max(PerMessageDeflate.minimumCompressWindowBits, windowBits))
        self.memLevel = min(9, max(1, memLevel))
        self.contextTakeover = contextTakeover
        self.output = output
    }

    deinit {
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
        }
    }

    /// Whether the zlib stream exists (the compressor has compressed a message).
    public var holdsState: Bool { stream != nil }

    /// Compresses one whole message and calls `body` with the frame payload (the tail removed).
    /// The bytes are valid only during `body`.
    /// - Returns: `body`'s result, or nil when zlib failed (out of memory); send the message
    ///   uncompressed then, which is always allowed. After a failure the stream starts afresh, which
    ///   the peer's decompressor handles whether it keeps a window or not.
    public func compress<R>(_ message: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard let s = openStream() else { return nil }
        defer { output.reset() }
        output.count = 0
        // deflateBound is for Z_FINISH; the sync flush adds an empty stored block (5 bytes) and
        // may add a few bits of padding: the loop below grows the buffer if that is not enough.
        output.reserve(Int(deflateBound(s, uLong(message.count))) + 16)
        s.pointee.next_in = UnsafeMutablePointer(mutating: message.baseAddress?.assumingMemoryBound(to: Bytef.self))
        s.pointee.avail_in = uInt(message.count)
        while true {
            guard let base = output.base else { return nil }
            let room = output.capacity - output.count
            s.pointee.next_out = (base + output.count).assumingMemoryBound(to: Bytef.self)
            s.pointee.avail_out = uInt(room)
            let rc = deflate(s, Z_SYNC_FLUSH)
            output.count += room - Int(s.pointee.avail_out)
            guard rc == Z_OK || rc == Z_BUF_ERROR else { return failed(s) }
            // zlib: with avail_out left over, the flush is complete; otherwise call again.
            if s.pointee.avail_out != 0 { break }
            output.reserve(output.capacity * 2)
        }
        s.pointee.next_in = nil
        if output.count == 0 && message.isEmpty {
            // An empty message right after another flush: zlib has nothing to flush (Z_BUF_ERROR, no
            // output). An empty stored block says "nothing" (RFC 7692 §7.2.3.6): 0x00 once the tail is off.
            let empty: UInt8 = 0
            return withUnsafeBytes(of: empty) { body($0) }
        }
        let produced = output.bytes
        guard produced.count >= 4, produced.suffix(4).elementsEqual(PerMessageDeflate.tail) else { return failed(s) }
        let result = body(UnsafeRawBufferPointer(rebasing: produced[..<(produced.count - 4)]))
        if !contextTakeover { deflateReset(s) }
        return result
    }

    /// Writes a whole frame for `message`: header with RSV1 set, then the compressed payload.
    /// - Parameters:
    ///   - fin: defaults to true: one frame per message.
    ///   - maskingKey: defaults to nil (server side); a client (the benchmark) passes a key.
    /// - Returns: false, with nothing written, when compression failed; write the frame plain then.
    @discardableResult
    public func writeFrame(
        opcode: WebSocketOpcode, message: UnsafeRawBufferPointer, maskingKey: UInt32? = nil, into buffer: inout ByteBuffer
    ) -> Bool {
        let written: Bool? = compress(message) { payload in
            WebSocketFrameEncoder.writeFrame(opcode: opcode, rsv1: true, payload: payload, maskingKey: maskingKey, into: &buffer)
            return true
        }
        return written ?? false
    }

    private func openStream() -> UnsafeMutablePointer<z_stream>? {
        if let stream { return stream }
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        guard cgw_deflate_init(s, Int32(level), Int32(windowBits), Int32(memLevel)) == Z_OK else {
            s.deallocate()
            return nil
        }
        stream = s
        return s
    }

    private func failed<R>(_ s: UnsafeMutablePointer<z_stream>) -> R? {
        deflateReset(s)
        return nil
    }
}

@available(*, unavailable)
extension PerMessageDeflateCompressor: Sendable {}
