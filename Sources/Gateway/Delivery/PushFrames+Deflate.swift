internal import GatewayBuffers
internal import GatewayIO
internal import GatewayWebSocket

/// A compressed variant of a push frame: for one wire format, zlib level and window size.
struct DeflatedPushFrame: Sendable {
    let parser: ParserKind
    let level: Int
    let windowBits: Int
    /// The compressed frame (RSV1 set), or the plain one when compressing did not make it smaller.
    let frame: SharedBytes
}

extension PushFrames {
    /// The frame for `parser` compressed by `compressor` (which keeps no context), made by the first
    /// recipient that asks and shared by every later one, on every loop. The plain frame comes back
    /// when compressing would not make it smaller or zlib failed: sending a message uncompressed is
    /// always allowed (RFC 7692 §6).
    /// - Parameter metrics: the asking loop's counters, which count the compression (once per push).
    func deflatedFrame(
        for parser: ParserKind, plain: SharedBytes, compressor: PerMessageDeflateCompressor, metrics: inout GatewayMetrics
    ) -> SharedBytes {
        deflated.withLock { variants in
            for v in variants where v.parser == parser && v.level == compressor.level && v.windowBits == compressor.windowBits {
                return v.frame
            }
            let frame = Self.compress(plain, compressor, &metrics) ?? plain
            variants.append(DeflatedPushFrame(parser: parser, level: compressor.level, windowBits: compressor.windowBits, frame: frame))
            return frame
        }
    }

    /// Frames `plain`'s payload compressed; nil when that is not smaller (or failed).
    private static func compress(
        _ plain: SharedBytes, _ compressor: PerMessageDeflateCompressor, _ metrics: inout GatewayMetrics
    ) -> SharedBytes? {
        let bytes = plain.unsafeBytes
        guard case .complete(let header, let headerSize)? = try? WebSocketFrameHeader.parse(bytes, requireMasked: false) else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
        let framed: SharedBytes?? = compressor.compress(payload) { compressed -> SharedBytes? in
            guard compressed.count < payload.count else { return nil }
            var out = ByteBuffer(capacity: compressed.count + WebSocketFrameEncoder.maxHeaderSize)
            WebSocketFrameEncoder.writeFrame(opcode: header.opcode, rsv1: true, payload: compressed, into: &out)
            return SharedBytes(copying: out)
        }
        metrics.recordDeflate(input: payload.count, output: (framed ?? nil)?.count)
        return framed ?? nil
    }
}
