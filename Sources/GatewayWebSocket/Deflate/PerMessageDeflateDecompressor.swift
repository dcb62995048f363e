internal import CGatewayShims

/// Inflates permessage-deflate messages (RFC 7692 §7.2.2): the frame payloads of one message,
/// joined, with the four-octet tail appended.
///
/// **Bounded.** Output grows in chunks and never past `limit + 1` bytes: a message that inflates to
/// more than `limit` fails with `.inflatedMessageTooBig` (close 1009) as soon as it passes the limit,
/// so a deflate bomb costs at most `limit` bytes of memory, never what it would inflate to.
///
/// **Without context takeover** (the peer agreed to `client_no_context_takeover`) the stream is
/// reset after every message, so one decompressor per event loop serves every connection. **With
/// context takeover** the window is the connection's and survives between messages. The zlib
/// stream is created on first use (about 7 KiB of state plus a window of 2^windowBits bytes).
public final class PerMessageDeflateDecompressor {
    /// The window the peer compresses with, at most (its `client_max_window_bits`), 8–15.
    public let windowBits: Int
    /// Whether the window survives from one message to the next.
    public let contextTakeover: Bool
    private var stream: UnsafeMutablePointer<z_stream>?
    private let output: PerMessageDeflateBuffer
    /// Growth step of the output: 16 KiB covers most messages in one inflate call.
    private static let firstChunk = 16 * 1024

    /// Creates a decompressor; no zlib memory is allocated until the first message.
    /// - Parameters:
    ///   - windowBits: defaults to 15, which inflates what any smaller window produced too.
    ///   - contextTakeover: defaults to false (see the type's documentation).
    ///   - output: where inflated bytes go; pass a loop's shared buffer to keep one per loop.
    public init(windowBits: Int = 15, contextTakeover: Bool = false, output: PerMessageDeflateBuffer = PerMessageDeflateBuffer()) {
        // A peer that says 8 may still use 9 (zlib's deflate turns 8 into 9): a 9-bit window reads both.
        self.windowBits = min(15, max(9, windowBits))
        self.contextTakeover = contextTakeover
        self.output = output
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
    }

    /// Whether the zlib stream exists (the decompressor has inflated a message).
    public var holdsState: Bool { stream != nil }

    /// Inflates one whole message and calls `body` with the result, valid only during `body`.
    /// - Parameters:
    ///   - compressed: the message's frame payloads, unmasked and joined, without the tail.
    ///   - limit: the largest inflated size accepted (`maxMessageBytes`).
    /// - Returns: `body`'s result, or `.inflatedMessageTooBig` (1009), `.invalidCompressedData`
    ///   (1007) or `.compressionUnavailable` (1011, zlib out of memory).
    public func decompress<R>(
        _ compressed: UnsafeRawBufferPointer, limit: Int, _ body: (UnsafeRawBufferPointer) -> R
    ) -> Result<R, WebSocketError> {
        guard let s = openStream() else { return .failure(.compressionUnavailable) }
        defer { output.reset() }
        output.count = 0
        let limit = min(max(0, limit), Int(Int32.max) - 1)
        var outcome = feed(s, compressed, limit: limit)
        // After a final block (BFINAL, RFC 7692 §7.2.3.4) the stream is over: what follows is
        // ignored, as zlib-based peers do, and the tail is not needed.
        if case .consumed = outcome {
            outcome = withUnsafeBytes(of: PerMessageDeflate.tailWord) { feed(s, $0, limit: limit) }
        }
        switch outcome {
        case .consumed, .ended:
            let result = body(output.bytes)
            if !contextTakeover {
                inflateReset(s)
            } else if case .ended = outcome {
                restartKeepingWindow(s)
            }
            return .success(result)
        case .tooBig:
            inflateReset(s)
            return .failure(.inflatedMessageTooBig(limit: limit))
        case .invalid:
            inflateReset(s)
            return .failure(.invalidCompressedData)
        }
    }

    private enum Outcome {
        /// All input went in and all output came out.
        case consumed
        /// A final block (BFINAL) ended the stream.
        case ended
        case tooBig
        case invalid
    }

    private func feed(_ s: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, limit: Int) -> Outcome {
        s.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        s.pointee.avail_in = uInt(input.count)
        defer { s.pointee.next_in = nil }
        while true {
            if output.count > limit { return .tooBig }
            let cap = limit + 1  // one byte past the limit tells "too big" from "exactly the limit"
            if output.count == output.capacity { output.reserve(min(cap, max(output.capacity * 2, Self.firstChunk)), ceiling: cap) }
            guard let base = output.base else { return .invalid }
            let room = min(output.capacity, cap) - output.count
            s.pointee.next_out = (base + output.count).assumingMemoryBound(to: Bytef.self)
            s.pointee.avail_out = uInt(room)
            let rc = inflate(s, Z_SYNC_FLUSH)
            output.count += room - Int(s.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                return output.count > limit ? .tooBig : .ended
            case Z_OK, Z_BUF_ERROR:
                // Output full: go round and grow it. Otherwise all input went in, or (Z_BUF_ERROR with
                // input and room left) zlib cannot go on, which valid data never causes.
                guard s.pointee.avail_out != 0 else { continue }
                if s.pointee.avail_in == 0 { return output.count > limit ? .tooBig : .consumed }
                if rc == Z_BUF_ERROR { return .invalid }
            default:
                return .invalid  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR
            }
        }
    }

    /// After a final block the stream is over, but with context takeover the next message may still
    /// refer to this one's bytes (RFC 7692 §7.2.3.3): start a new stream with the same window.
    private func restartKeepingWindow(_ s: UnsafeMutablePointer<z_stream>) {
        var window = [UInt8](repeating: 0, count: 1 << windowBits)
        var length: uInt = 0
        let got = window.withUnsafeMutableBufferPointer { inflateGetDictionary(s, $0.baseAddress, &length) } == Z_OK
        inflateReset(s)
        if got && length > 0 {
            _ = window.withUnsafeBufferPointer { inflateSetDictionary(s, $0.baseAddress, length) }
        }
    }

    private func openStream() -> UnsafeMutablePointer<z_stream>? {
        if let stream { return stream }
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        guard cgw_inflate_init(s, Int32(windowBits)) == Z_OK else {
            s.deallocate()
            return nil
        }
        stream = s
        return s
    }
}

@available(*, unavailable)
extension PerMessageDeflateDecompressor: Sendable {}
