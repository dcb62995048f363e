internal import GatewayWebSocket

/// What one WebSocket connection negotiated of permessage-deflate, and the zlib streams it owns when
/// it keeps a context. Without context takeover (the default) it owns none and uses its loop's
/// (`LoopDeflate`); with it, the connection's own compressor and decompressor are created here,
/// and their zlib memory is allocated on the first message that needs it.
///
/// A class, allocated only when the extension was negotiated: a connection without it holds a nil
/// reference (8 bytes) instead of this whole value (56), which every idle connection paid before
/// (issue 13, S4). When neither side keeps a context, nothing in it belongs to one connection, and
/// the loop hands every such connection the same instance (`make`).
final class ConnectionDeflate {
    /// The agreed `server_max_window_bits` (RFC 7692 §7.1.2.1; 15 when not limited).
    let serverMaxWindowBits: Int
    /// Whether outgoing messages are compressed by the loop's shared compressor (and a fan-out frame
    /// can be compressed once for every such recipient): `server_no_context_takeover` agreed.
    let sharesCompressor: Bool
    /// Inflates this connection's messages: the loop's, or its own when the client keeps a window.
    let decompressor: PerMessageDeflateDecompressor
    /// This connection's own compressor, when the gateway keeps a window (`server_no_context_takeover`
    /// not agreed); nil until the first message compressed.
    private var own: PerMessageDeflateCompressor?

    /// The state for a connection that agreed to `parameters`: the loop's shared instance when
    /// neither side keeps a context (no per-connection memory; the agreed response header is not
    /// kept either, it was sent), a new one otherwise.
    static func make(_ parameters: PerMessageDeflateParameters, loop: LoopDeflate) -> ConnectionDeflate {
        guard parameters.serverNoContextTakeover && parameters.clientNoContextTakeover else {
            return ConnectionDeflate(parameters, loop: loop)
        }
        return loop.sharedConnectionState(windowBits: parameters.serverMaxWindowBits) {
            ConnectionDeflate(parameters, loop: loop)
        }
    }

    private init(_ parameters: PerMessageDeflateParameters, loop: LoopDeflate) {
        serverMaxWindowBits = parameters.serverMaxWindowBits
        sharesCompressor = parameters.serverNoContextTakeover
        decompressor = parameters.clientNoContextTakeover
            ? loop.sharedDecompressor
            : PerMessageDeflateDecompressor(windowBits: parameters.clientMaxWindowBits, contextTakeover: true, output: loop.inflateOutput)
    }

    /// The compressor for an outgoing message. A connection's own compressor keeps the level it was
    /// created with: its window cannot be carried over to a new stream.
    func compressor(loop: LoopDeflate, level: Int) -> PerMessageDeflateCompressor {
        if sharesCompressor { return loop.sharedCompressor(level: level, windowBits: serverMaxWindowBits) }
        if let own { return own }
        let c = PerMessageDeflateCompressor(
            level: level, windowBits: serverMaxWindowBits, contextTakeover: true, output: loop.compressOutput)
        own = c
        return c
    }
}
