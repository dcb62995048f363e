import FuzzSupport
import GatewayBuffers
import GatewayWebSocket

/// Fuzzes `WebSocketFrameReader` (frame parsing, message assembly, UTF-8 and size checks) the way
/// `ClientConnection` drives it.
///
/// Input: `[limit] [options] [seed] [seed] stream...`
/// - limit bits 0–3: `maxMessageBytes` from `limits`; bit 7: accept unmasked frames (client side).
/// - options bits 0–1: `retainedCapacity`; bits 2–3: when the callback pauses (never, on messages,
///   on every event, at random); bits 4–6: the largest chunk (1, 3, 7, 16, 64, 512, 4096 bytes, the whole stream).
/// - seed: drives chunk sizes, random pauses, when a paused session resumes, and masking keys.
///
/// The stream is read twice: whole, in one `feed` without pauses (the reference), and in random
/// chunks with pauses, where bytes that arrive while paused are held and fed after `resume`, as the
/// server does. Both must give the same events, the same error and the same closed state. Along the
/// way: text is valid UTF-8 (checked against the standard library, as are binary payloads against
/// `UTF8Validator`), messages respect the limit, control payloads 125 bytes, close codes and reasons
/// are valid, nothing is delivered after a close or an error, a dead reader keeps throwing its
/// error, a reader that did not pause buffers at most one partial frame, and every event re-encoded
/// by `WebSocketFrameEncoder` as a masked client frame reads back as itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limitByte = input.byte()
    let options = input.byte()
    let seed = input.uint16()
    let stream = Array(input.rest)

    let config = Config(
        maxMessageBytes: limits[Int(limitByte & 15)],
        requireMasked: limitByte & 0x80 == 0,
        retainedCapacity: [0, 16, 256, 4096][Int(options & 3)],
        pause: PausePolicy(rawValue: (options >> 2) & 3) ?? .never,
        maxChunk: [1, 3, 7, 16, 64, 512, 4096, Int.max][Int((options >> 4) & 7)]
    )
    var rng = SplitMix64(seed: UInt64(seed) | UInt64(limitByte) << 16 | UInt64(options) << 24)

    let reference = readWhole(stream, config)
    let chunked = readChunked(stream, config, &rng)
    check(
        reference == chunked,
        "whole and chunked reads differ for \(show(stream)):\n whole:   \(reference)\n chunked: \(chunked)"
    )
    for event in reference.events {
        checkRoundTrip(event, requireMasked: config.requireMasked, &rng)
    }
    return 0
}

/// The `maxMessageBytes` values the first byte picks from: edges of the length encodings and of
/// the control-frame limit, and the gateway's default.
let limits = [0, 1, 2, 7, 16, 125, 126, 127, 200, 1000, 65535, 65536, 70000, 1 << 20, 1 << 20, 1 << 20]

struct Config {
    var maxMessageBytes: Int
    var requireMasked: Bool
    var retainedCapacity: Int
    var pause: PausePolicy
    var maxChunk: Int

    func makeReader() -> WebSocketFrameReader {
        WebSocketFrameReader(
            maxMessageBytes: maxMessageBytes, requireMaskedFrames: requireMasked, retainedCapacity: retainedCapacity
        )
    }
}

/// When the callback returns `.pause`.
enum PausePolicy: UInt8 {
    case never, onMessages, always, random
}

/// An event with its payload copied out of the callback.
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

    var description: String {
        switch self {
        case .text(let b): "text(\(show(b, limit: 40)))"
        case .binary(let b): "binary(\(b.count))"
        case .ping(let b): "ping(\(b.count))"
        case .pong(let b): "pong(\(b.count))"
        case .close(let code, let b): "close(\(code.map(String.init) ?? "nil"), \(show(b, limit: 40)))"
        }
    }
}

/// What one read produced.
struct Outcome: Equatable, CustomStringConvertible {
    var events: [Event] = []
    var error: WebSocketError?
    var closed = false

    var description: String { "\(events) error=\(error.map { "\($0)" } ?? "nil") closed=\(closed)" }
}

/// The reference: the whole stream in one `feed`, never pausing.
func readWhole(_ stream: [UInt8], _ config: Config) -> Outcome {
    var reader = config.makeReader()
    var outcome = Outcome()
    var copy = stream
    let result = copy.withUnsafeMutableBytes { raw in
        Result { () throws(WebSocketError) in
            try reader.feed(raw) { event in
                outcome.events.append(Event(event))
                return .proceed
            }
        }
    }
    if case .failure(let error) = result { outcome.error = error }
    outcome.closed = reader.isClosed
    return outcome
}

/// Reads the stream in random chunks, pausing and resuming like `ClientConnection`: while paused,
/// arriving bytes are held; on resume the reader's own bytes go first (`resume`), then the held ones.
func readChunked(_ stream: [UInt8], _ config: Config, _ rng: inout SplitMix64) -> Outcome {
    // One scratch buffer for every feed: the reader unmasks in place, so each chunk is copied in first.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(stream.count, 1), alignment: 8)
    defer { scratch.deallocate() }
    var session = Session(config: config, scratch: scratch)
    var reader = config.makeReader()
    var offset = 0
    while offset < stream.count, session.outcome.error == nil {
        let size = min(stream.count - offset, config.maxChunk == Int.max ? stream.count : 1 + rng.below(config.maxChunk))
        let chunk = stream[offset..<(offset + size)]
        offset += size
        if session.paused {
            session.held += chunk
            if rng.below(2) == 0 { session.resume(&reader, &rng) }
        } else {
            chunk.withUnsafeBytes { session.feed($0, &reader, &rng) }
        }
    }
    var rounds = 0
    while session.outcome.error == nil, session.paused || !session.held.isEmpty {
        session.resume(&reader, &rng)
        rounds += 1
        check(rounds <= stream.count + 2, "resuming makes no progress")
    }
    if session.outcome.error == nil { session.checkClosedIgnoresInput(&reader) }
    session.outcome.closed = reader.isClosed
    return session.outcome
}

/// The server-side state around one connection's reader (kept apart from the reader, which the
/// callbacks must not touch).
struct Session {
    let config: Config
    /// Where fed bytes are copied (at least as large as the stream).
    let scratch: UnsafeMutableRawBufferPointer
    var outcome = Outcome()
    var paused = false
    var held: [UInt8] = []
    /// Whether a `.close` event was delivered.
    var sawClose = false

    /// `ClientConnection.receiveWebSocket`: feed the bytes.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ reader: inout WebSocketFrameReader, _ rng: inout SplitMix64) {
        let raw = UnsafeMutableRawBufferPointer(rebasing: scratch[..<bytes.count])
        raw.copyMemory(from: bytes)
        let pausedBefore = paused
        let result = Result { () throws(WebSocketError) in
            try reader.feed(raw) { event in handle(event, &rng) }
        }
        finish(result, &reader, pausedBefore: pausedBefore)
    }

    /// `ClientConnection.resumeWebSocket`: the reader's kept bytes, then the held ones.
    mutating func resume(_ reader: inout WebSocketFrameReader, _ rng: inout SplitMix64) {
        paused = false
        let result = Result { () throws(WebSocketError) in
            try reader.resume { event in handle(event, &rng) }
        }
        finish(result, &reader, pausedBefore: false)
        guard outcome.error == nil, !paused, !held.isEmpty else { return }
        let bytes = held
        held.removeAll(keepingCapacity: true)
        bytes.withUnsafeBytes { feed($0, &reader, &rng) }
    }

    private mutating func finish(
        _ result: Result<Void, WebSocketError>, _ reader: inout WebSocketFrameReader, pausedBefore: Bool
    ) {
        if case .failure(let error) = result {
            outcome.error = error
            checkStaysFailed(error, &reader)
            return
        }
        if !paused && !pausedBefore && !reader.isClosed {
            // Without a pause the reader keeps at most one partial frame: a header (≤ 14 bytes)
            // and a payload within the limit (or a control payload).
            let bound = WebSocketFrameEncoder.maxHeaderSize + max(config.maxMessageBytes, 125)
            check(reader.bufferedBytes <= bound, "\(reader.bufferedBytes) bytes buffered, bound \(bound)")
        }
        if reader.isClosed {
            check(sawClose, "closed without a .close event")
            check(!reader.hasBufferedInput, "closed reader keeps bytes")
        }
    }

    private mutating func handle(_ event: WebSocketEvent, _ rng: inout SplitMix64) -> WebSocketReaderAction {
        check(!sawClose, "event after .close")
        check(!paused, "event after .pause")
        checkEvent(event, maxMessageBytes: config.maxMessageBytes, &rng)
        let copy = Event(event)
        outcome.events.append(copy)
        let pause: Bool
        switch (config.pause, copy) {
        case (.never, _): pause = false
        case (.onMessages, .text), (.onMessages, .binary), (.always, _): pause = true
        case (.onMessages, _): pause = false
        case (.random, _): pause = rng.below(3) == 0
        }
        if case .close = copy {
            sawClose = true
            paused = true  // the server stops reading at a close
            return .pause
        }
        paused = pause
        return pause ? .pause : .proceed
    }

    /// A reader that failed throws the same error from every later call, without calling back.
    private func checkStaysFailed(_ error: WebSocketError, _ reader: inout WebSocketFrameReader) {
        var bytes: [UInt8] = [0x81, 0x80, 1, 2, 3, 4]
        let again = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(WebSocketError) in
                try reader.feed(raw) { _ -> WebSocketReaderAction in invariantFailed("callback after \(error)") }
            }
        }
        let resumed = Result { () throws(WebSocketError) in
            try reader.resume { _ -> WebSocketReaderAction in invariantFailed("callback after \(error)") }
        }
        check(again.failureValue == error && resumed.failureValue == error, "after \(error): \(again), \(resumed)")
        check(!reader.hasBufferedInput, "failed reader keeps bytes")
        var close = ByteBuffer()
        WebSocketFrameEncoder.writeClose(code: error.closeCode, reason: error.description, into: &close)
        check(close.readableBytes <= 2 + 125, "close frame of \(close.readableBytes) bytes")
    }

    /// After a close, input is ignored: no events, no error.
    func checkClosedIgnoresInput(_ reader: inout WebSocketFrameReader) {
        guard reader.isClosed else { return }
        var bytes: [UInt8] = [0x81, 0x81, 1, 2, 3, 4, 0x49, 0xFF]
        let result = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(WebSocketError) in
                try reader.feed(raw) { _ -> WebSocketReaderAction in invariantFailed("callback after close") }
            }
        }
        check(result.failureValue == nil, "closed reader threw \(String(describing: result.failureValue))")
    }
}
