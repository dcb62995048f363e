internal import GatewayWebSocket

/// One event loop's permessage-deflate machinery (DESIGN §9): the compressors and the decompressor
/// that every connection of the loop without context takeover shares, and the two output buffers
/// every compressor and decompressor of the loop writes into. Nothing here allocates zlib memory
/// until a message is compressed or inflated, so a loop whose modules never compress pays nothing.
///
/// Sharing is safe because a message is compressed or inflated in one call and its output is used
/// before the next call (the reader inflates a fragmented message only once it is complete).
final class LoopDeflate {
    /// Where every compressor of this loop writes (valid until the next compression).
    let compressOutput = PerMessageDeflateBuffer()
    /// Where every decompressor of this loop writes (valid until the next inflation).
    let inflateOutput = PerMessageDeflateBuffer()
    /// Inflates for every connection whose client agreed to `client_no_context_takeover`. A 15-bit
    /// window reads what any smaller window produced, so one serves them all.
    private(set) lazy var sharedDecompressor = PerMessageDeflateDecompressor(windowBits: 15, contextTakeover: false, output: inflateOutput)
    /// Compressors without context takeover, one per (level, window bits) in use: modules may
    /// differ in level, and a client may ask for a smaller `server_max_window_bits`.
    private var shared: [PerMessageDeflateCompressor] = []

    /// The `ConnectionDeflate` every connection without context takeover either way shares, one per
    /// agreed `server_max_window_bits` (8...15), made by `make` on first use.
    private var sharedStates: [ConnectionDeflate?] = Array(repeating: nil, count: 16)

    /// The shared connection state for `windowBits`, made with `make` on first use.
    func sharedConnectionState(windowBits: Int, _ make: () -> ConnectionDeflate) -> ConnectionDeflate {
        guard sharedStates.indices.contains(windowBits) else { return make() }
        if let s = sharedStates[windowBits] { return s }
        let s = make()
        sharedStates[windowBits] = s
        return s
    }

    /// The shared compressor for `level` and `windowBits`, created on first use.
    func sharedCompressor(level: Int, windowBits: Int) -> PerMessageDeflateCompressor {
        for c in shared where c.level == level && c.windowBits == windowBits { return c }
        let c = PerMessageDeflateCompressor(level: level, windowBits: windowBits, contextTakeover: false, output: compressOutput)
        shared.append(c)
        return c
    }
}
