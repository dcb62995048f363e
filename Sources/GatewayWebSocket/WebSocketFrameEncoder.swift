public import GatewayBuffers

/// Writes WebSocket frames (RFC 6455 §5.2). Server frames are unmasked; a masking key is accepted so
/// tests and the benchmark can play a client.
public enum WebSocketFrameEncoder {
    /// The largest header: 2 bytes + 8-byte length + 4-byte mask. Leave this much headroom in a
    /// payload buffer to frame it in place with `prependHeader`.
    public static let maxHeaderSize = 14

    /// Size of a frame header for a payload of `payloadLength` bytes (RFC 6455 §5.2): lengths up to 125
    /// fit in the 7-bit field, up to 65535 take a 16-bit extension, larger a 64-bit one; a mask adds 4.
    @inlinable
    public static func headerSize(payloadLength: Int, masked: Bool) -> Int {
        let base = payloadLength <= 125 ? 2 : (payloadLength <= 0xFFFF ? 4 : 10)
        return masked ? base + 4 : base
    }

    /// Appends a frame header.
    /// - Parameters:
    ///   - fin: defaults to true: the gateway sends whole messages, one frame each.
    ///   - rsv1: defaults to false; true marks a compressed message (permessage-deflate).
    ///   - maskingKey: defaults to nil: servers must not mask (RFC 6455 §5.1).
    @inlinable
    public static func writeHeader(
        fin: Bool = true, rsv1: Bool = false, opcode: WebSocketOpcode, payloadLength: Int, maskingKey: UInt32? = nil,
        into buffer: inout ByteBuffer
    ) {
        var scratch: (UInt64, UInt64) = (0, 0)  // 16 bytes on the stack ≥ maxHeaderSize
        withUnsafeMutableBytes(of: &scratch) { raw in
            let size = encodeHeader(fin: fin, opcode: opcode, payloadLength: payloadLength, maskingKey: maskingKey, into: raw)
            if rsv1 { raw[0] |= 0x40 }
            buffer.write(UnsafeRawBufferPointer(rebasing: raw[0..<size]))
        }
    }

    /// Appends a whole frame: header, then the payload (masked when a key is given).
    /// - Parameters:
    ///   - fin: defaults to true: one frame per message.
    ///   - rsv1: defaults to false; true marks a compressed message (permessage-deflate).
    ///   - maskingKey: defaults to nil (server side); pass a key to produce client frames.
    @inlinable
    public static func writeFrame(
        opcode: WebSocketOpcode, fin: Bool = true, rsv1: Bool = false, payload: UnsafeRawBufferPointer,
        maskingKey: UInt32? = nil, into buffer: inout ByteBuffer
    ) {
        writeHeader(fin: fin, rsv1: rsv1, opcode: opcode, payloadLength: payload.count, maskingKey: maskingKey, into: &buffer)
        buffer.write(payload)
        if let maskingKey, payload.count > 0 {
            let count = payload.count
            buffer.withUnsafeMutableReadableBytes { raw in
                WebSocketMasking.apply(maskingKey: maskingKey, to: UnsafeMutableRawBufferPointer(rebasing: raw[(raw.count - count)...]))
            }
        }
    }

    /// Appends a close frame with a status code and a reason (RFC 6455 §5.5.1).
    ///
    /// The reason is cut so the payload stays within the 125-byte control-frame limit; the cut falls
    /// on a character boundary so the peer never sees invalid UTF-8. Codes that must never be sent
    /// (1005 "no status", 1006, 1015) produce a close frame with an empty payload, which is what
    /// 1005 means on the receiving side.
    /// - Parameter maskingKey: defaults to nil (server side).
    public static func writeClose(
        code: WebSocketCloseCode, reason: String = "", maskingKey: UInt32? = nil, into buffer: inout ByteBuffer
    ) {
        guard code != .noStatus && code != .abnormal && code.rawValue != 1015 else {
            writeHeader(opcode: .close, payloadLength: 0, maskingKey: maskingKey, into: &buffer)
            return
        }
        var payload: [UInt8] = []
        payload.reserveCapacity(125)
        payload.append(UInt8(truncatingIfNeeded: code.rawValue >> 8))
        payload.append(UInt8(truncatingIfNeeded: code.rawValue))
        var reasonBytes = Array(reason.utf8)
        if reasonBytes.count > 123 {
            var end = 123
            // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
            while end > 0 && reasonBytes[end] & 0xC0 == 0x80 { end -= 1 }
            reasonBytes.removeSubrange(end...)
        }
        payload.append(contentsOf: reasonBytes)
        payload.withUnsafeBytes { raw in
            writeFrame(opcode: .close, payload: raw, maskingKey: maskingKey, into: &buffer)
        }
    }

    /// Frames a payload that was written first: writes an unmasked header into the buffer's headroom
    /// so the header and payload go out as one contiguous write with no copy of the payload.
    /// - Parameters:
    ///   - fin: defaults to true: one frame per message.
    ///   - buffer: its readable bytes are the payload; allocate it with `maxHeaderSize` headroom.
    /// - Returns: false, leaving the buffer unchanged, when the headroom is too small; the caller
    ///   then writes the header separately (`writeHeader`).
    @inlinable
    @discardableResult
    public static func prependHeader(fin: Bool = true, opcode: WebSocketOpcode, to buffer: inout ByteBuffer) -> Bool {
        let payloadLength = buffer.readableBytes
        guard buffer.headroom >= headerSize(payloadLength: payloadLength, masked: false) else { return false }
        var scratch: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &scratch) { raw in
            let size = encodeHeader(fin: fin, opcode: opcode, payloadLength: payloadLength, maskingKey: nil, into: raw)
            return buffer.prepend(UnsafeRawBufferPointer(rebasing: raw[0..<size]))
        }
    }

    /// Encodes a header into `raw` (at least `maxHeaderSize` bytes) and returns its size.
    @inlinable
    static func encodeHeader(
        fin: Bool, opcode: WebSocketOpcode, payloadLength: Int, maskingKey: UInt32?, into raw: UnsafeMutableRawBufferPointer
    ) -> Int {
        precondition(payloadLength >= 0, "negative payload length")
        raw[0] = (fin ? 0x80 : 0) | opcode.rawValue
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        var size: Int
        if payloadLength <= 125 {
            raw[1] = maskBit | UInt8(payloadLength)
            size = 2
        } else if payloadLength <= 0xFFFF {
            raw[1] = maskBit | 126
            raw.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            size = 4
        } else {
            raw[1] = maskBit | 127
            raw.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            size = 10
        }
        if let maskingKey {
            raw.storeBytes(of: maskingKey.bigEndian, toByteOffset: size, as: UInt32.self)
            size += 4
        }
        return size
    }
}
