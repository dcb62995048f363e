import GatewayBuffers
import GatewayWebSocket

/// The masking key of the RFC 6455 §5.7 examples.
let rfcKey: UInt32 = 0x37FA_213D

/// A `WebSocketEvent` with its payload copied, so tests can compare events after the callback.
enum Event: Equatable, CustomStringConvertible {
    case text([UInt8])
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, [UInt8])

    init(_ event: WebSocketEvent) {
        switch event {
        case .text(let bytes): self = .text(Array(bytes))
        case .binary(let bytes): self = .binary(Array(bytes))
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .close(let code, let reason): self = .close(code?.rawValue, Array(reason))
        }
    }

    static func text(_ string: String) -> Event { .text(Array(string.utf8)) }

    var description: String {
        switch self {
        case .text(let b): "text(\(String(decoding: b, as: UTF8.self)))"
        case .binary(let b): "binary(\(b.count) bytes)"
        case .ping(let b): "ping(\(b))"
        case .pong(let b): "pong(\(b))"
        case .close(let code, let b): "close(\(code.map(String.init) ?? "nil"), \(String(decoding: b, as: UTF8.self)))"
        }
    }
}

/// A client (masked) frame built with the encoder.
func clientFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, key: UInt32 = rfcKey) -> [UInt8] {
    var buffer = ByteBuffer()
    payload.withUnsafeBytes { raw in
        WebSocketFrameEncoder.writeFrame(opcode: opcode, fin: fin, payload: raw, maskingKey: key, into: &buffer)
    }
    return buffer.readableArray
}

func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> [UInt8] {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

/// A frame built byte by byte, for what the encoder refuses to produce: any first byte, a length in
/// a chosen encoding (`lengthBytes` 0, 2 or 8), an optional mask.
func rawFrame(first: UInt8, payload: [UInt8], lengthBytes: Int? = nil, key: UInt32? = rfcKey) -> [UInt8] {
    let maskBit: UInt8 = key == nil ? 0 : 0x80
    let encoding = lengthBytes ?? (payload.count <= 125 ? 0 : (payload.count <= 0xFFFF ? 2 : 8))
    var out: [UInt8] = [first]
    switch encoding {
    case 0:
        out.append(maskBit | UInt8(payload.count))
    case 2:
        out.append(maskBit | 126)
        out += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
        out.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
    }
    var body = payload
    if let key {
        out += [UInt8(key >> 24), UInt8(key >> 16 & 0xFF), UInt8(key >> 8 & 0xFF), UInt8(key & 0xFF)]
        body.withUnsafeMutableBytes { WebSocketMasking.apply(maskingKey: key, to: $0) }
    }
    return out + body
}

/// Feeds each chunk in turn and records the events. `pauseWhen` may pause after an event; then
/// `resume` is called until the reader stops delivering.
func read(
    _ chunks: [[UInt8]], reader: inout WebSocketFrameReader, pauseWhen: (Event) -> Bool = { _ in false }
) throws(WebSocketError) -> [Event] {
    var events: [Event] = []
    func onEvent(_ event: WebSocketEvent) -> WebSocketReaderAction {
        let copy = Event(event)
        events.append(copy)
        return pauseWhen(copy) ? .pause : .proceed
    }
    for chunk in chunks {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: chunk)
        try reader.feed(raw, onEvent)
        while reader.hasBufferedInput {
            let before = events.count
            try reader.resume(onEvent)
            if events.count == before { break }
        }
    }
    return events
}

/// Reads `chunks` with a fresh server reader.
func read(_ chunks: [[UInt8]], maxMessageBytes: Int = 1 << 20, pauseWhen: (Event) -> Bool = { _ in false }) throws(WebSocketError) -> [Event] {
    var reader = WebSocketFrameReader(maxMessageBytes: maxMessageBytes)
    return try read(chunks, reader: &reader, pauseWhen: pauseWhen)
}

/// The error reading `chunks` throws, or nil.
func readError(_ chunks: [[UInt8]], maxMessageBytes: Int = 1 << 20) -> WebSocketError? {
    do {
        _ = try read(chunks, maxMessageBytes: maxMessageBytes)
        return nil
    } catch {
        return error
    }
}

/// A small deterministic PRNG (xorshift64*) so failures reproduce.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
