import FuzzSupport
import GatewayBuffers
import GatewayWebSocket

/// What the reader promises about one event.
func checkEvent(_ event: WebSocketEvent, maxMessageBytes: Int, _ rng: inout SplitMix64) {
    switch event {
    case .text(let payload):
        check(payload.count <= maxMessageBytes, "text of \(payload.count) bytes, limit \(maxMessageBytes)")
        check(String(validating: payload, as: UTF8.self) != nil, "invalid UTF-8 delivered as text: \(show(payload))")
    case .binary(let payload):
        check(payload.count <= maxMessageBytes, "binary of \(payload.count) bytes, limit \(maxMessageBytes)")
        checkValidatorAgrees(payload, &rng)
    case .ping(let payload), .pong(let payload):
        check(payload.count <= 125, "control payload of \(payload.count) bytes")
        checkValidatorAgrees(payload, &rng)
    case .close(let code, let reason):
        check(reason.count <= 123, "close reason of \(reason.count) bytes")
        check(String(validating: reason, as: UTF8.self) != nil, "invalid UTF-8 close reason")
        if let code {
            check(WebSocketCloseCode.isValidReceived(code.rawValue), "close code \(code.rawValue) delivered")
        } else {
            check(reason.isEmpty, "close reason without a code")
        }
        let policy = WebSocketConnectionMachine.Policy(pingIntervalNanos: 1, idleTimeoutNanos: 1, closeTimeoutNanos: 1, maxInflight: 1)
        var machine = WebSocketConnectionMachine(policy: policy, now: 0)
        let reasonText = String(decoding: reason, as: UTF8.self)
        check(machine.receivedClose(code: code, reason: reasonText) == .echoCloseAndClose(code ?? .normalClosure), "close echo")
    }
}

/// `UTF8Validator` agrees with the standard library on arbitrary bytes, whole and split in two.
func checkValidatorAgrees(_ bytes: UnsafeRawBufferPointer, _ rng: inout SplitMix64) {
    let valid = String(validating: bytes, as: UTF8.self) != nil
    check(UTF8Validator.isValid(bytes) == valid, "UTF8Validator says \(!valid) for \(show(bytes))")
    let cut = rng.below(bytes.count + 1)
    var validator = UTF8Validator()
    let first = validator.validate(UnsafeRawBufferPointer(rebasing: bytes[..<cut]))
    let second = first && validator.validate(UnsafeRawBufferPointer(rebasing: bytes[cut...]))
    check((second && validator.isAtBoundary) == valid, "UTF8Validator split at \(cut) disagrees for \(show(bytes))")
}

/// Encodes `event` as a masked client frame and reads it back with a fresh reader.
func checkRoundTrip(_ event: Event, requireMasked: Bool, _ rng: inout SplitMix64) {
    var frame = ByteBuffer()
    let key = UInt32(truncatingIfNeeded: rng.next())
    func write(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        payload.withUnsafeBytes { WebSocketFrameEncoder.writeFrame(opcode: opcode, payload: $0, maskingKey: key, into: &frame) }
    }
    let size: Int
    switch event {
    case .text(let p): write(.text, p); size = p.count
    case .binary(let p): write(.binary, p); size = p.count
    case .ping(let p): write(.ping, p); size = p.count
    case .pong(let p): write(.pong, p); size = p.count
    case .close(let code, let reason):
        WebSocketFrameEncoder.writeClose(
            code: code.map { WebSocketCloseCode(rawValue: $0) } ?? .noStatus,
            reason: String(decoding: reason, as: UTF8.self), maskingKey: key, into: &frame)
        size = reason.count + 2
    }
    check(frame.readableBytes == WebSocketFrameEncoder.headerSize(payloadLength: size, masked: true) + size
          || { if case .close(nil, _) = event { return true } else { return false } }(),
          "frame of \(frame.readableBytes) bytes for a payload of \(size)")
    var reader = WebSocketFrameReader(maxMessageBytes: size, requireMaskedFrames: true)
    var events: [Event] = []
    let result = frame.withUnsafeMutableReadableBytes { raw in
        Result { () throws(WebSocketError) in
            try reader.feed(raw) { e in
                events.append(Event(e))
                return .proceed
            }
        }
    }
    check(result.failureValue == nil && events == [event], "round trip of \(event) gave \(events), \(String(describing: result.failureValue))")
}
