/// Applies or removes a frame's masking key (RFC 6455 §5.3). Masking is an XOR, so the same call
/// masks and unmasks.
///
/// A masking key is written here as a `UInt32` whose big-endian bytes are the four key bytes in wire
/// order, so the RFC's example key `37 fa 21 3d` is `0x37fa_213d`.
public enum WebSocketMasking {
    /// XORs `bytes` in place with the key, 8 bytes at a time.
    /// - Parameters:
    ///   - maskingKey: the key, wire order as big-endian (see the type's documentation).
    ///   - bytes: payload bytes to mask or unmask.
    ///   - offset: the position of `bytes[0]` within the frame's payload, so a payload can be
    ///     unmasked in pieces. Defaults to 0, the whole payload at once.
    @inlinable
    public static func apply(maskingKey: UInt32, to bytes: UnsafeMutableRawBufferPointer, offset: Int = 0) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // Rotate the key so that its first byte lines up with bytes[0].
        let shift = UInt32((offset & 3) * 8)
        let rotated = shift == 0 ? maskingKey : (maskingKey << shift) | (maskingKey >> (32 - shift))
        // `pattern` holds the key bytes in memory order; loads and stores below are native-endian.
        let pattern32 = rotated.bigEndian
        let pattern = UInt64(pattern32) | (UInt64(pattern32) << 32)
        let count = bytes.count
        var i = 0
        while i &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: word ^ pattern, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: rotated >> (24 - UInt32(i & 3) * 8))
            let byte = base.load(fromByteOffset: i, as: UInt8.self)
            base.storeBytes(of: byte ^ keyByte, toByteOffset: i, as: UInt8.self)
            i &+= 1
        }
    }

    /// `apply` that also reports whether every unmasked byte is ASCII (below 0x80), from the words
    /// it already has in registers. A text message that is all ASCII is then valid UTF-8 without a
    /// second pass over it (the usual JSON message; callgrind, S2: ~80 instructions per 64-byte
    /// message).
    @inlinable
    public static func applyReportingASCII(maskingKey: UInt32, to bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        let pattern32 = maskingKey.bigEndian
        let pattern = UInt64(pattern32) | (UInt64(pattern32) << 32)
        let count = bytes.count
        var high: UInt64 = 0
        var i = 0
        while i &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            base.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
            high |= word
            i &+= 8
        }
        var tail: UInt8 = 0
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: maskingKey >> (24 - UInt32(i & 3) * 8))
            let byte = base.load(fromByteOffset: i, as: UInt8.self) ^ keyByte
            base.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
            tail |= byte
            i &+= 1
        }
        return high & 0x8080_8080_8080_8080 == 0 && tail & 0x80 == 0
    }
}
