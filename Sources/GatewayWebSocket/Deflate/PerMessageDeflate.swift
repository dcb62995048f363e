/// Constants of permessage-deflate (RFC 7692) shared by the compressor, the decompressor and the
/// negotiation.
public enum PerMessageDeflate {
    /// The four octets a sync flush ends with (an empty stored block's `LEN`/`NLEN`). The sender
    /// removes them from every message (RFC 7692 §7.2.1) and the receiver appends them before
    /// inflating (§7.2.2).
    public static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// The tail as one big-endian word, so it can be fed to zlib from the stack.
    static let tailWord = UInt32(0x0000_FFFF).bigEndian

    /// The smallest window zlib's raw deflate can compress with: it refuses 8 (a 256-byte window)
    /// since zlib 1.2.9, so `server_max_window_bits=8` cannot be honoured.
    public static let minimumCompressWindowBits = 9

    /// memLevel 8 is zlib's default: 128 KiB of hash chains and pending output at 15-bit windows.
    public static let defaultMemLevel = 8
}
