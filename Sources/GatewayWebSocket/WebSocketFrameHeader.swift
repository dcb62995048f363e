/// The header of one WebSocket frame (RFC 6455 §5.2), and its incremental, validating parser.
public struct WebSocketFrameHeader: Sendable, Hashable {
    /// Whether this is the final fragment of a message (always true for control frames).
    public var fin: Bool
    /// RSV1–RSV3 as they sit in the first header byte (`0x40`, `0x20`, `0x10`). In a parsed header
    /// only the bits the caller allowed can be set: RSV1 when permessage-deflate was negotiated.
    public var reservedBits: UInt8
    /// The frame's opcode.
    public var opcode: WebSocketOpcode
    /// The masking key (big-endian wire order, see `WebSocketMasking`), or nil for an unmasked frame.
    public var maskingKey: UInt32?
    /// Number of payload bytes that follow the header.
    public var payloadLength: Int

    /// Creates a header.
    /// - Parameters:
    ///   - fin: defaults to true: most frames are whole messages.
    ///   - reservedBits: defaults to 0: no extensions.
    ///   - maskingKey: defaults to nil: server-to-client frames are never masked (RFC 6455 §5.1).
    public init(fin: Bool = true, reservedBits: UInt8 = 0, opcode: WebSocketOpcode, maskingKey: UInt32? = nil, payloadLength: Int) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// Whether the payload is masked (client-to-server frames always are).
    @inlinable public var masked: Bool { maskingKey != nil }
    /// RSV1: the message is compressed (permessage-deflate, RFC 7692 §6).
    @inlinable public var rsv1: Bool { reservedBits & 0x40 != 0 }
    /// RSV2.
    @inlinable public var rsv2: Bool { reservedBits & 0x20 != 0 }
    /// RSV3.
    @inlinable public var rsv3: Bool { reservedBits & 0x10 != 0 }

    /// Size of this header on the wire: 2 bytes, plus 2 or 8 for a 16- or 64-bit length, plus 4 for a mask.
    @inlinable public var encodedSize: Int { WebSocketFrameEncoder.headerSize(payloadLength: payloadLength, masked: masked) }

    /// The outcome of `parse`.
    public enum ParseResult: Sendable, Hashable {
        /// The header is not complete yet: at least `minimumBytes` bytes in total are needed before it
        /// can be parsed further. Everything present so far was checked.
        case incomplete(minimumBytes: Int)
        /// A complete, valid header, occupying the first `headerSize` bytes.
        case complete(WebSocketFrameHeader, headerSize: Int)
    }

    /// Parses the frame header at the start of `bytes`, checking each byte as soon as it is present,
    /// so a bad first byte fails even before the length arrives.
    ///
    /// Checks the rules a single frame must meet: no RSV bits but the allowed ones, no reserved opcode,
    /// control frames unfragmented and ≤ 125 bytes, no 64-bit length with the top bit set, and a mask
    /// when `requireMasked` is true. Message-level rules (fragment order, size limits) are the
    /// reader's. Lengths in a longer encoding than needed are accepted: RFC 6455 §5.2 puts the
    /// minimal-encoding rule on the sender, and rejecting it buys nothing.
    /// - Parameters:
    ///   - bytes: the bytes received so far, starting at a frame boundary.
    ///   - requireMasked: true on the server, which must fail unmasked client frames (RFC 6455 §5.1).
    ///   - allowedReservedBits: RSV bits an extension gives a meaning to; defaults to none. Pass
    ///     `0x40` (RSV1) when permessage-deflate was negotiated. Where RSV1 may appear within a
    ///     message is the reader's business.
    @inlinable
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, requireMasked: Bool, allowedReservedBits: UInt8 = 0
    ) throws(WebSocketError) -> ParseResult {
        let count = bytes.count
        guard count >= 1 else { return .incomplete(minimumBytes: 2) }
        let first = bytes[0]
        let reserved = first & 0x70
        guard reserved & ~allowedReservedBits == 0 else { throw .reservedBitsSet(reserved & ~allowedReservedBits) }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else { throw .reservedOpcode(first & 0x0F) }
        let fin = first & 0x80 != 0
        if opcode.isControl && !fin { throw .fragmentedControlFrame(opcode) }
        guard count >= 2 else { return .incomplete(minimumBytes: 2) }

        let second = bytes[1]
        let masked = second & 0x80 != 0
        if requireMasked && !masked { throw .unmaskedFrame }
        let shortLength = Int(second & 0x7F)
        if opcode.isControl && shortLength > 125 { throw .controlFrameTooLong }
        let lengthBytes = shortLength == 126 ? 2 : (shortLength == 127 ? 8 : 0)
        let headerSize = 2 + lengthBytes + (masked ? 4 : 0)
        // Stop at the end of the length first, so a bad 64-bit length fails before the mask arrives.
        guard count >= 2 + lengthBytes else { return .incomplete(minimumBytes: 2 + lengthBytes) }

        let payloadLength: Int
        switch lengthBytes {
        case 2:
            payloadLength = Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        case 8:
            let long = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            // The MSB must be 0 (RFC 6455 §5.2); on 64-bit platforms that is also what fits in an Int.
            guard long >> 63 == 0, let length = Int(exactly: long) else { throw .payloadLengthOverflow }
            payloadLength = length
        default:
            payloadLength = shortLength
        }
        guard count >= headerSize else { return .incomplete(minimumBytes: headerSize) }

        let maskingKey: UInt32? =
            masked ? UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 2 + lengthBytes, as: UInt32.self)) : nil
        let header = WebSocketFrameHeader(
            fin: fin, reservedBits: reserved, opcode: opcode, maskingKey: maskingKey, payloadLength: payloadLength)
        return .complete(header, headerSize: headerSize)
    }
}
