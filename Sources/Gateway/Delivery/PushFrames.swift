internal import GatewayBuffers
internal import GatewayIO
internal import GatewayJSON
internal import GatewayWebSocket

/// A push (`cmd` + `data`, no `id`) encoded once per wire format in use, as complete WebSocket frames
/// in shared memory. Every recipient, on any loop, gets a reference to the same bytes: nothing is
/// copied per recipient.
///
/// Recipients that negotiated permessage-deflate without context takeover get a compressed variant,
/// made by the first of them to need it (on whichever loop) and shared by the rest: each variant
/// (wire format, level, window) is compressed at most once per push (`deflatedFrame`).
final class PushFrames: Sendable {
    let json: SharedBytes?
    let text: SharedBytes?
    let raw: SharedBytes?
    /// Compressed variants made so far. A lock, not per-loop copies: the point is to compress once.
    let deflated = Locked<[DeflatedPushFrame]>([])

    /// Encodes a push for each parser in `parsers`.
    /// - Parameters:
    ///   - data: the body; for json it is inserted as-is when `dataIsJSON`, else as a JSON string.
    ///   - binary: the raw format's frame type when the data is not valid UTF-8 anyway.
    init(command: String, data: UnsafeRawBufferPointer, dataIsJSON: Bool, binary: Bool, parsers: Set<ParserKind>) {
        var scratch = ByteBuffer(capacity: data.count + command.utf8.count + 32)
        func frame(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> SharedBytes {
            let header = WebSocketFrameEncoder.headerSize(payloadLength: payload.readableBytes, masked: false)
            var framed = ByteBuffer(capacity: header + payload.readableBytes)
            payload.withUnsafeReadableBytes { WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: $0, into: &framed) }
            return SharedBytes(copying: framed)
        }
        if parsers.contains(.json) {
            scratch.write(string: "{\"cmd\":")
            JSONWriter.writeString(command, into: &scratch)
            scratch.write(string: ",\"data\":")
            if data.isEmpty { scratch.write(string: "null") } else if dataIsJSON { scratch.write(data) } else { JSONWriter.writeString(bytes: data, into: &scratch) }
            scratch.write(byte: UInt8(ascii: "}"))
            json = frame(.text, scratch)
        } else {
            json = nil
        }
        let utf8 = MessageCodec.isValidUTF8(data)
        if parsers.contains(.text) {
            scratch.clear()
            scratch.write(string: command)
            scratch.write(byte: UInt8(ascii: ":"))
            scratch.write(data)
            text = frame(utf8 ? .text : .binary, scratch)
        } else {
            text = nil
        }
        if parsers.contains(.raw) {
            scratch.clear()
            scratch.write(data)
            raw = frame(utf8 && !binary ? .text : .binary, scratch)
        } else {
            raw = nil
        }
    }

    /// The frame for a recipient speaking `parser`.
    func frame(for parser: ParserKind) -> SharedBytes? {
        switch parser {
        case .json: json
        case .text: text
        case .raw: raw
        }
    }
}
