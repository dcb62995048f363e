import GatewayBuffers

/// The incremental, sans-IO reader a WebSocket connection feeds with received bytes. It parses frames,
/// assembles fragmented messages, and enforces the protocol rules and the size limit, delivering
/// whole messages and control frames as `WebSocketEvent`s.
///
/// **No copy in the common case.** When no bytes are left over from earlier calls, frames are parsed
/// straight from the caller's input: payloads are unmasked in place and a single-frame message is
/// delivered from the input itself. Only the bytes of a frame cut off at the end of the input, or
/// everything after a `.pause`, are copied into `pending`. On the next call just enough new input is
/// appended to complete that frame, then parsing returns to the caller's buffer.
///
/// **Fragments** are copied into one message buffer and delivered when the final fragment arrives;
/// control frames may come between them (RFC 6455 §5.4). Text is UTF-8 validated fragment by fragment,
/// so an invalid fragment fails before the rest of the message arrives. A single frame is validated
/// when it is complete.
///
/// **Limits** are checked as soon as a frame's length is known, before any payload is buffered.
///
/// **Compressed messages** (permessage-deflate, RFC 7692), when the reader was given a decompressor:
/// RSV1 on the first frame of a data message marks it compressed (anywhere else it fails with 1002).
/// Its fragments are joined compressed, then inflated in one go when the last one arrives, bounded
/// by `maxMessageBytes` while inflating (1009), and text is validated after inflating. Inflating
/// the whole message at once is what lets one decompressor per event loop serve every connection
/// that agreed to `client_no_context_takeover`: no connection holds its stream between frames.
///
/// **Memory.** When a call returns with nothing buffered, buffers above `retainedCapacity` are freed,
/// so an idle reader holds no heap memory by default. The buffers are still reused within a call.
///
/// **After a close frame** the reader ignores all further input, including bytes that followed the
/// close frame in the same call: RFC 6455 §5.5.1 forbids data after a close, and ignoring it lets the
/// closing handshake finish cleanly. **After an error** the reader is dead: every later `feed` and
/// `resume` throws the same error.
public struct WebSocketFrameReader {
    // Stored properties are laid out in declaration order: the one-byte ones come last, together,
    // so that they share one word (128 -> 104 bytes in every WebSocket connection, issue 13).

    /// The largest message (one frame, or all fragments together) accepted, in bytes.
    public let maxMessageBytes: Int
    /// Buffer capacity kept for reuse when a call returns with nothing buffered.
    public let retainedCapacity: Int
    /// Inflates compressed messages; nil when permessage-deflate was not negotiated (then RSV1 fails
    /// the connection like the other reserved bits).
    public let decompressor: PerMessageDeflateDecompressor?

    private var pending = ByteBuffer()
    /// When `pending` holds a partial frame: bytes still missing before it can be parsed further.
    private var pendingMissing = 0
    private var message = ByteBuffer()
    private var utf8 = UTF8Validator()
    /// Payload bytes of the frame at the head of the buffer that are already unmasked and, for text,
    /// UTF-8 validated while the rest of the frame was still arriving. This is what lets invalid
    /// UTF-8 fail the connection as soon as it arrives, even in the middle of one large frame
    /// (Autobahn 6.4.3/6.4.4 "fail fast").
    private var partialDone = 0
    private var failure: WebSocketError?
    /// Whether unmasked frames fail the connection (true on a server, RFC 6455 §5.1). When false,
    /// frames may be masked or not and masked ones are unmasked.
    public let requireMaskedFrames: Bool
    private var messageOpcode: WebSocketOpcode?
    /// The message being assembled is compressed (its first frame had RSV1).
    private var messageCompressed = false
    /// The incomplete frame at the head of `pending` is text: parse it on every arrival (to validate
    /// the new bytes) instead of waiting until it is complete.
    private var partialTextual = false
    /// Whether a close frame was received; the reader ignores input from then on.
    public private(set) var isClosed = false

    /// Creates a reader.
    /// - Parameters:
    ///   - maxMessageBytes: largest accepted message; anything bigger fails with 1009 as soon as its
    ///     length is announced. There is no default: it depends on the gateway's modules.
    ///   - requireMaskedFrames: defaults to true, the server side: clients must mask (RFC 6455 §5.1).
    ///   - retainedCapacity: buffer capacity kept between calls. Defaults to 0, so that 100k idle
    ///     connections hold no buffers; raise it for clients that stream fragmented messages, to save
    ///     one allocation per message.
    ///   - decompressor: defaults to nil, no permessage-deflate. Pass one when it was negotiated: a
    ///     loop's shared one without context takeover, the connection's own with it.
    public init(
        maxMessageBytes: Int, requireMaskedFrames: Bool = true, retainedCapacity: Int = 0,
        decompressor: PerMessageDeflateDecompressor? = nil
    ) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.maxMessageBytes = maxMessageBytes
        self.requireMaskedFrames = requireMaskedFrames
        self.retainedCapacity = retainedCapacity
        self.decompressor = decompressor
    }

    /// Whether bytes are kept from an earlier call: a partial frame, or input left after a pause.
    public var hasBufferedInput: Bool { !pending.isEmpty }

    /// Number of bytes kept from earlier calls (see `hasBufferedInput`). Does not count the fragments
    /// of a message being assembled.
    public var bufferedBytes: Int { pending.readableBytes }

    /// Heap capacity held by the reader's buffers, for memory accounting and tests.
    public var allocatedBytes: Int { pending.capacity + message.capacity }

    /// Consumes received bytes, calling `onEvent` for each message or control frame.
    ///
    /// Returns when the input is exhausted or `onEvent` returned `.pause`. If bytes are kept from a
    /// pause, they are parsed first, so calling `feed` after a pause also resumes.
    /// - Parameters:
    ///   - input: the received bytes. Mutable because payloads are unmasked in place; the caller must
    ///     not rely on its contents afterwards.
    ///   - onEvent: called for each event; payload pointers are valid only during the call.
    /// - Throws: the protocol violation that must fail the connection (send `error.closeCode`).
    public mutating func feed(
        _ input: UnsafeMutableRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction
    ) throws(WebSocketError) {
        if let failure { throw failure }
        guard !isClosed else { return }
        if pending.isEmpty {
            parseDirect(input, onEvent)
        } else {
            parseWithPending(input, onEvent)
        }
        try finishCall()
    }

    /// Continues after a pause with the bytes that were kept.
    public mutating func resume(_ onEvent: (WebSocketEvent) -> WebSocketReaderAction) throws(WebSocketError) {
        if let failure { throw failure }
        guard !isClosed else { return }
        if !pending.isEmpty {
            parseWithPending(UnsafeMutableRawBufferPointer(start: nil, count: 0), onEvent)
        }
        try finishCall()
    }

    // MARK: - Buffer management

    private enum Stop {
        case needMore(missing: Int)
        case paused
        case closed
        case failed
    }

    /// Parses from the caller's buffer and keeps what is left.
    private mutating func parseDirect(_ input: UnsafeMutableRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction) {
        let (consumed, stop) = parseFrames(input, onEvent)
        switch stop {
        case .needMore(let missing):
            if consumed < input.count {
                keep(UnsafeRawBufferPointer(rebasing: input[consumed...]))
                pendingMissing = missing
            }
        case .paused:
            if consumed < input.count { keep(UnsafeRawBufferPointer(rebasing: input[consumed...])) }
            pendingMissing = 0
        case .closed, .failed:
            break
        }
    }

    /// Completes the frame (or drains the events) in `pending`, then parses the rest of `input` directly.
    private mutating func parseWithPending(_ input: UnsafeMutableRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction) {
        var used = 0
        while !pending.isEmpty {
            if pendingMissing > 0 {
                let take = min(pendingMissing, input.count - used)
                guard take > 0 else { return }
                keep(UnsafeRawBufferPointer(rebasing: input[used..<(used + take)]))
                used += take
                pendingMissing -= take
                if pendingMissing > 0 && !partialTextual { return }  // input exhausted
            }
            switch parsePending(onEvent) {
            case .needMore:
                continue
            case .paused:
                if used < input.count { keep(UnsafeRawBufferPointer(rebasing: input[used...])) }
                pendingMissing = 0
                return
            case .closed, .failed:
                return
            }
        }
        if used < input.count {
            parseDirect(UnsafeMutableRawBufferPointer(rebasing: input[used...]), onEvent)
        }
    }

    private mutating func parsePending(_ onEvent: (WebSocketEvent) -> WebSocketReaderAction) -> Stop {
        // Move the buffer out so parsing (which mutates self) does not overlap an access to self.pending.
        var buffer = ByteBuffer()
        swap(&buffer, &pending)
        let (consumed, stop) = buffer.withUnsafeMutableReadableBytes { raw in parseFrames(raw, onEvent) }
        buffer.moveReaderIndex(forwardBy: consumed)
        pending = buffer
        if case .needMore(let missing) = stop { pendingMissing = pending.isEmpty ? 0 : missing }
        return stop
    }

    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        if pending.readerIndex > 0 { pending.discardReadBytes() }
        pending.write(bytes)
    }

    private mutating func finishCall() throws(WebSocketError) {
        if failure != nil || isClosed {
            partialDone = 0
            partialTextual = false
            pending = ByteBuffer()
            message = ByteBuffer()
            messageOpcode = nil
            messageCompressed = false
            pendingMissing = 0
            if let failure { throw failure }
            return
        }
        pending.releaseCapacityIfEmpty(above: retainedCapacity)
        if messageOpcode == nil { message.releaseCapacityIfEmpty(above: retainedCapacity) }
    }

    // MARK: - Frames

    private enum Step {
        case proceed
        case pause
        case close
        case fail
    }

    /// Parses complete frames from `buffer` and dispatches them.
    /// - Returns: bytes consumed (whole frames only) and why parsing stopped.
    private mutating func parseFrames(
        _ buffer: UnsafeMutableRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction
    ) -> (consumed: Int, stop: Stop) {
        var offset = 0
        while true {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])
            let header: WebSocketFrameHeader
            let headerSize: Int
            do {
                switch try WebSocketFrameHeader.parse(
                    UnsafeRawBufferPointer(rest), requireMasked: requireMaskedFrames,
                    allowedReservedBits: decompressor == nil ? 0 : 0x40) {
                case .incomplete(let minimumBytes):
                    return (offset, .needMore(missing: minimumBytes - rest.count))
                case .complete(let parsed, let size):
                    header = parsed
                    headerSize = size
                }
            } catch {
                failure = error
                return (offset, .failed)
            }
            if let error = checkSequenceAndSize(header) {
                failure = error
                return (offset, .failed)
            }
            let available = rest.count - headerSize
            // Compressed text is validated once inflated, not as it arrives.
            let textual = (header.opcode == .text && !header.rsv1)
                || (header.opcode == .continuation && messageOpcode == .text && !messageCompressed)
            guard available >= header.payloadLength else {
                partialTextual = textual
                if textual && available > partialDone {
                    // Unmask and validate what has arrived, so invalid text fails now, not at the end.
                    let piece = UnsafeMutableRawBufferPointer(rebasing: rest[(headerSize + partialDone)..<(headerSize + available)])
                    if let maskingKey = header.maskingKey { WebSocketMasking.apply(maskingKey: maskingKey, to: piece, offset: partialDone) }
                    if partialDone == 0 && header.opcode == .text { utf8.reset() }
                    partialDone = available
                    guard utf8.validate(UnsafeRawBufferPointer(piece)) else {
                        failure = .invalidUTF8
                        return (offset, .failed)
                    }
                }
                return (offset, .needMore(missing: header.payloadLength - available))
            }
            let payload = UnsafeMutableRawBufferPointer(rebasing: rest[headerSize..<(headerSize + header.payloadLength)])
            let done = partialDone
            partialDone = 0
            partialTextual = false
            // A whole text message in one frame is checked for ASCII while it is unmasked: all ASCII
            // is valid UTF-8, and the validator's pass over it is skipped.
            var asciiOnly = false
            if let maskingKey = header.maskingKey {
                if textual && done == 0 && header.fin && header.opcode == .text {
                    asciiOnly = WebSocketMasking.applyReportingASCII(maskingKey: maskingKey, to: payload)
                } else {
                    WebSocketMasking.apply(maskingKey: maskingKey, to: UnsafeMutableRawBufferPointer(rebasing: payload[done...]), offset: done)
                }
            }
            if textual && !asciiOnly {
                // Validate the part not validated while the frame was arriving.
                if done == 0 && header.opcode == .text { utf8.reset() }
                guard utf8.validate(UnsafeRawBufferPointer(rebasing: payload[done...])),
                      !header.fin || utf8.isAtBoundary else {
                    failure = .invalidUTF8
                    return (offset, .failed)
                }
            }
            offset += headerSize + header.payloadLength
            switch dispatch(header, UnsafeRawBufferPointer(payload), onEvent) {
            case .proceed: continue
            case .pause: return (offset, .paused)
            case .close: return (offset, .closed)
            case .fail: return (offset, .failed)
            }
        }
    }

    /// The message-level rules that can be checked from the header alone (RFC 6455 §5.4), and the
    /// size limit, so an oversized payload is refused before it is buffered.
    private func checkSequenceAndSize(_ header: WebSocketFrameHeader) -> WebSocketError? {
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message (the parser allowed it at all
        // only when permessage-deflate was negotiated).
        if header.reservedBits != 0 && (header.opcode.isControl || header.opcode == .continuation) {
            return .misplacedCompressionBit(header.opcode)
        }
        switch header.opcode {
        case .continuation:
            guard messageOpcode != nil else { return .unexpectedContinuation }
            if header.payloadLength > maxMessageBytes - message.readableBytes {
                return .messageTooBig(length: UInt64(message.readableBytes) + UInt64(header.payloadLength), limit: maxMessageBytes)
            }
        case .text, .binary:
            if messageOpcode != nil { return .newMessageDuringFragmentedMessage(header.opcode) }
            if header.payloadLength > maxMessageBytes {
                return .messageTooBig(length: UInt64(header.payloadLength), limit: maxMessageBytes)
            }
        case .close, .ping, .pong:
            break  // ≤ 125 bytes, checked by the header parser
        }
        return nil
    }

    private mutating func dispatch(
        _ header: WebSocketFrameHeader, _ payload: UnsafeRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction
    ) -> Step {
        switch header.opcode {
        case .ping:
            return Self.step(onEvent(.ping(payload)))
        case .pong:
            return Self.step(onEvent(.pong(payload)))
        case .close:
            return dispatchClose(payload, onEvent)
        case .text, .binary:
            // Text was validated in parseFrames (incrementally when the frame arrived in pieces).
            let isText = header.opcode == .text
            if header.fin {
                if header.rsv1 { return inflate(payload, isText: isText, onEvent) }
                return Self.step(onEvent(isText ? .text(payload) : .binary(payload)))
            }
            messageOpcode = header.opcode
            messageCompressed = header.rsv1
            message.write(payload)
            return .proceed
        case .continuation:
            guard let opcode = messageOpcode else { return fail(.unexpectedContinuation) }
            let isText = opcode == .text
            message.write(payload)
            guard header.fin else { return .proceed }
            messageOpcode = nil
            let step: Step
            if messageCompressed {
                messageCompressed = false
                // Moved out, so inflating (which mutates self) does not overlap an access to self.message.
                var joined = ByteBuffer()
                swap(&joined, &message)
                step = joined.withUnsafeReadableBytes { bytes in inflate(bytes, isText: isText, onEvent) }
                joined.clear()
                message = joined
            } else {
                let action = message.withUnsafeReadableBytes { bytes in onEvent(isText ? .text(bytes) : .binary(bytes)) }
                step = Self.step(action)
            }
            message.clear()
            return step
        }
    }

    /// Inflates a whole compressed message (bounded by `maxMessageBytes`), validates text, delivers it.
    private mutating func inflate(
        _ compressed: UnsafeRawBufferPointer, isText: Bool, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction
    ) -> Step {
        guard let decompressor else { return fail(.misplacedCompressionBit(isText ? .text : .binary)) }
        let result = decompressor.decompress(compressed, limit: maxMessageBytes) { bytes -> WebSocketReaderAction? in
            if isText && !UTF8Validator.isValid(bytes) { return nil }
            return onEvent(isText ? .text(bytes) : .binary(bytes))
        }
        switch result {
        case .success(let action?): return Self.step(action)
        case .success(nil): return fail(.invalidUTF8)
        case .failure(let error): return fail(error)
        }
    }

    /// Validates a close payload (RFC 6455 §5.5.1, §7.4) and delivers it.
    private mutating func dispatchClose(
        _ payload: UnsafeRawBufferPointer, _ onEvent: (WebSocketEvent) -> WebSocketReaderAction
    ) -> Step {
        let code: WebSocketCloseCode?
        let reason: UnsafeRawBufferPointer
        switch payload.count {
        case 0:
            code = nil
            reason = payload
        case 1:
            return fail(.closePayloadTooShort)
        default:
            let raw = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard WebSocketCloseCode.isValidReceived(raw) else { return fail(.invalidCloseCode(raw)) }
            reason = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard UTF8Validator.isValid(reason) else { return fail(.invalidCloseReason) }
            code = WebSocketCloseCode(rawValue: raw)
        }
        isClosed = true
        _ = onEvent(.close(code: code, reason: reason))
        return .close
    }

    private mutating func fail(_ error: WebSocketError) -> Step {
        failure = error
        return .fail
    }

    private static func step(_ action: WebSocketReaderAction) -> Step {
        switch action {
        case .proceed: .proceed
        case .pause: .pause
        }
    }
}

@available(*, unavailable)
extension WebSocketFrameReader: Sendable {}
