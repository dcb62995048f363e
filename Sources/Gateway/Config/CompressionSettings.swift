internal import GatewayWebSocket

/// `modules[].compression` (DESIGN §9): permessage-deflate (RFC 7692) for the module's WebSockets.
/// Each default is what a chat-like deployment of many small JSON messages and large fan-outs wants.
public struct CompressionSettings: Sendable, Equatable {
    /// Whether the extension is offered at all. Off by default: compression costs CPU per message,
    /// and only the operator knows whether bandwidth is the scarcer resource.
    public var enabled = false
    /// Whether compression windows survive between messages. Off by default: then the gateway
    /// negotiates `server_no_context_takeover` and `client_no_context_takeover`, holds no zlib
    /// state per connection (one compressor and one decompressor per event loop serve them all)
    /// and compresses a fan-out frame once for every recipient. On, each connection that keeps a
    /// window costs about 300 KiB (its own compressor and decompressor) in exchange for a better
    /// ratio on streams of similar messages.
    public var contextTakeover = false
    /// Messages smaller than this go uncompressed (RSV1 clear). 256 bytes by default: below that,
    /// deflate saves a few dozen bytes at most, less than the TCP/IP and frame headers of the
    /// packet that carries them, and the per-message CPU cost of a zlib call is the same.
    public var minBytes = 256
    /// zlib level, 1–9. 1 by default (as gorilla/websocket and Centrifugo): on JSON it keeps most
    /// of what level 6 saves at a fraction of the CPU, and CPU per delivery is the gateway's bound.
    public var level = 1
    /// Largest LZ77 window, 9–15 bits, for both directions. 15 by default, the best ratio; lower it
    /// to bound memory with `contextTakeover` (a 2^bits window per connection and direction).
    public var maxWindowBits = 15

    /// The defaults (disabled).
    public init() {}

    /// What the handshake negotiates with.
    var policy: PerMessageDeflatePolicy { PerMessageDeflatePolicy(contextTakeover: contextTakeover, maxWindowBits: maxWindowBits) }
}
