import FuzzSupport
import GatewayBuffers
import GatewayWebSocket

/// Fuzzes the permessage-deflate receive path: `PerMessageDeflateDecompressor` on arbitrary bytes,
/// and `WebSocketFrameReader` with a decompressor on compressed frames built from them.
///
/// Input: `[options] [limit] payload...`, the payload cut into messages at each `0xFE 0xFD` pair.
/// - options bit 0: context takeover; bits 1–3: window bits 9 + n (n ≤ 6); bit 4: also read the
///   messages as frames through the reader (fragmented at `limit`'s low bits), bits 5–6: level.
/// - limit bits 0–3: `maxMessageBytes` from `limits`; bits 4–7: fragment size for the reader.
///
/// Checked for every message, raw bytes as deflate data: it either inflates to at most the limit,
/// or fails with 1007 (invalid data), 1009 (over the limit) or 1011 (no memory), nothing else; the
/// output buffer never grows past the limit + 1 (plus the buffer's minimum of 256 bytes); after a
/// failure a decompressor without context still inflates a known message. Then the same bytes as a
/// plaintext round-trip through `PerMessageDeflateCompressor` and a decompressor of the same
/// settings (all messages in order, so context takeover is exercised), and through the reader as
/// RSV1 frames, where text events must be valid UTF-8 and no message exceeds the limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let options = input.byte()
    let limitByte = input.byte()
    let takeover = options & 1 != 0
    let bits = 9 + min(6, Int((options >> 1) & 7))
    let level = [1, 3, 6, 9][Int((options >> 5) & 3)]
    let limit = limits[Int(limitByte & 15)]
    let messages = split(Array(input.rest))

    // Raw bytes as deflate data.
    let out = PerMessageDeflateBuffer(retainedCapacity: 1 << 30)
    let raw = PerMessageDeflateDecompressor(windowBits: bits, contextTakeover: takeover, output: out)
    // What the output may have grown to: the limit + 1 (the buffer's minimum is 256), or the first
    // 16 KiB chunk once the recovery check below inflated with a large limit.
    var ceiling = max(256, limit + 1)
    for m in messages {
        let result = m.withUnsafeBytes { bytes in raw.decompress(bytes, limit: limit) { $0.count } }
        switch result {
        case .success(let n):
            check(n <= limit, "inflated \(n) bytes past the limit \(limit) from \(show(m))")
        case .failure(let e):
            check([.invalidCompressedData, .inflatedMessageTooBig(limit: limit), .compressionUnavailable].contains(e),
                  "unexpected error \(e) for \(show(m))")
            check(e.closeCode.rawValue == 1007 || e.closeCode.rawValue == 1009 || e.closeCode.rawValue == 1011, "close code \(e.closeCode)")
            if !takeover {
                let again = hello.withUnsafeBytes { raw.decompress($0, limit: 1 << 20) { Array($0) } }
                check((try? again.get()) == Array("Hello".utf8), "the decompressor did not recover after \(e)")
                ceiling = max(ceiling, 16 * 1024)
            }
        }
        check(out.capacity <= ceiling, "output grew to \(out.capacity) for a limit of \(limit)")
    }

    // The same bytes as plaintexts, compressed and inflated back, in order.
    // memLevel 1: the compressor is not under test here, and its 256 KiB of default state per input
    // would halve the executions per second.
    let compressor = PerMessageDeflateCompressor(level: level, windowBits: bits, memLevel: 1, contextTakeover: takeover)
    let back = PerMessageDeflateDecompressor(windowBits: bits, contextTakeover: takeover)
    var frames: [[UInt8]] = []
    for m in messages {
        guard let z = m.withUnsafeBytes({ raw in compressor.compress(raw) { Array($0) } }) else {
            invariantFailed("compression failed for \(show(m))")
        }
        let r = z.withUnsafeBytes { back.decompress($0, limit: 1 << 20) { Array($0) } }
        check((try? r.get()) == m, "round trip changed \(show(m)): \(r.map { show($0) })")
        frames.append(z)
    }

    // Through the reader, as compressed frames: fragmented, with a ping between the fragments.
    guard options & 0x10 != 0 else { return 0 }
    let fragment = max(1, Int(limitByte >> 4) * 7)
    var stream = ByteBuffer()
    for (i, z) in frames.enumerated() {
        let opcode: WebSocketOpcode = i % 2 == 0 ? .binary : .text
        var offset = 0
        repeat {
            let end = min(z.count, offset + fragment)
            z[offset..<end].withUnsafeBytes {
                WebSocketFrameEncoder.writeFrame(
                    opcode: offset == 0 ? opcode : .continuation, fin: end == z.count, rsv1: offset == 0,
                    payload: $0, maskingKey: 0x1234_5678, into: &stream)
            }
            if end < z.count { WebSocketFrameEncoder.writeFrame(opcode: .ping, payload: UnsafeRawBufferPointer(start: nil, count: 0), maskingKey: 1, into: &stream) }
            offset = end
        } while offset < z.count
    }
    var reader = WebSocketFrameReader(
        maxMessageBytes: limit, decompressor: PerMessageDeflateDecompressor(windowBits: bits, contextTakeover: takeover))
    var delivered = 0
    var bytes = stream.readableArray
    let fed: Result<Void, WebSocketError> = bytes.withUnsafeMutableBytes { raw in
        Result { () throws(WebSocketError) in
            try reader.feed(raw) { event in
                switch event {
                case .text(let p):
                    check(p.count <= limit && UTF8Validator.isValid(p), "text event of \(p.count) bytes, limit \(limit)")
                    check(delivered < messages.count && Array(p) == messages[delivered], "message \(delivered) differs")
                    delivered += 1
                case .binary(let p):
                    check(p.count <= limit, "binary event of \(p.count) bytes, limit \(limit)")
                    check(delivered < messages.count && Array(p) == messages[delivered], "message \(delivered) differs")
                    delivered += 1
                case .ping, .pong, .close:
                    break
                }
                return .proceed
            }
        }
    }
    if case .failure(let e) = fed {
        // Only what the messages themselves explain: too big (compressed or inflated), or text that is
        // not UTF-8.
        let m = messages[delivered]
        switch e {
        case .messageTooBig:
            // The compressed bytes count against the limit as they arrive, as plain ones do.
            check(frames[delivered].count > limit, "\(e) for \(frames[delivered].count) compressed bytes, limit \(limit)")
        case .inflatedMessageTooBig:
            check(m.count > limit, "\(e) for a \(m.count)-byte message, limit \(limit)")
        case .invalidUTF8: check(delivered % 2 == 1 && !m.withUnsafeBytes { UTF8Validator.isValid($0) }, "invalidUTF8 for valid text")
        default: invariantFailed("reader failed with \(e) on frames the compressor made")
        }
    } else {
        check(delivered == messages.count, "delivered \(delivered) of \(messages.count) messages")
    }
    return 0
}

/// "Hello" as RFC 7692 §7.2.3.1 compresses it.
let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]

/// Limits the second byte picks from: tiny ones to hit the bomb path, the edges of the frame length
/// encodings and of the 16 KiB output chunk. No 1 MiB default: a bomb inflating to it costs a
/// millisecond per execution, and the bound is the same code at any size.
let limits = [0, 1, 5, 16, 100, 125, 126, 1000, 4096, 16383, 16384, 16385, 65535, 65536, 100_000, 1 << 17]

/// Cuts at each `0xFE 0xFD` (at most 8 messages, so an input stays quick).
func split(_ bytes: [UInt8]) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var current: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if i + 1 < bytes.count && bytes[i] == 0xFE && bytes[i + 1] == 0xFD && out.count < 7 {
            out.append(current)
            current = []
            i += 2
        } else {
            current.append(bytes[i])
            i += 1
        }
    }
    out.append(current)
    return out
}
