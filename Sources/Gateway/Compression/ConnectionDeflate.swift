internal import GatewayWebSocket

/// What one WebSocket connection negotiated of permessage-deflate, and the zlib streams it owns when
/// it keeps a context. Without context takeover (the default) it owns none and uses its loop's
/// (`LoopDeflate`); with it, the connection's own compressor and decompressor are created here,
/// and their zlib memory is allocated on the first message that needs it.
///
/// A class, allocated only when the extension was negotiated: a connection without it holds a nil
/// reference (8 bytes) instead of this whole value (56), which every idle connection paid before
/// (issue 13, S4).
final class ConnectionDeflate {
    /// The agreed parameters (RFC 7692 §7.1).
    let parameters: PerMessageDeflateParameters
    /// Inflates this connection's messages: the loop's, or its own when the client keeps a window.
    let decompressor: PerMessageDeflateDecompressor
    /// This connection's own compressor, when the gateway keeps a window (`server_no_context_takeover`
    /// not agreed); nil until the first message compressed.
    private var own: PerMessageDeflateCompressor?

    init(_ parameters: PerMessageDeflateParameters, loop: LoopDeflate) {
        self.parameters = parameters
        decompressor = parameters.clientNoContextTakeover
            ? loop.sharedDecompressor
            : PerMessageDeflateDecompressor(windowBits: parameters.clientMaxWindowBits, contextTakeover: true, output: loop.inflateOutput)
    }

    /// Whether outgoing messages are compressed by the loop's shared compressor (and a fan-out frame
    /// can be compressed once for every such recipient).
    var sharesCompressor: Bool { parameters.serverNoContextTakeover }

    /// The compressor for an outgoing message. A connection's own compressor keeps the level it was
    /// created with: its window cannot be carried over to a new stream.
    func compressor(loop: LoopDeflate, level: Int) -> PerMessageDeflateCompressor {
        if sharesCompressor { return loop.sharedCompressor(level: level, windowBits: parameters.serverMaxWindowBits) }
        if let own { return own }
        let c = PerMessageDeflateCompressor(
            level: level, windowBits: parameters.serverMaxWindowBits, contextTakeover: true, output: loop.compressOutput)
        own = c
        return c
    }
}
