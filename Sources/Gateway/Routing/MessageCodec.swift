internal import GatewayBuffers
internal import GatewayJSON
internal import GatewayWebSocket

/// A client message split into command and body by the module's parser.
struct DecodedMessage {
    /// The command.
    var command: String
    /// The raw `id` token (json), echoed back byte for byte; nil when absent.
    var id: String?
    /// Byte range of the body inside the message payload.
    var body: Range<Int>
    /// Whether the message was a binary frame.
    var binary: Bool
}

/// The three wire formats (DESIGN §3): parse messages, pack replies and errors. Encoders write the
/// payload only; the caller frames it.
enum MessageCodec {
    /// Parses a message payload.
    ///
    /// Typed `throws` rather than a `Result`: the message comes back in registers and the caller's
    /// `catch` is a branch, where a `Result` of this size was copied and destroyed through its value
    /// witnesses on every message (callgrind, S2: about 150 instructions per message).
    static func decode(
        _ payload: UnsafeRawBufferPointer, binary: Bool, parser: ParserKind, rawCommand: String
    ) throws(GatewayReplyError) -> DecodedMessage {
        switch parser {
        case .json:
            if binary {
                throw GatewayReplyError(code: .badMessage, message: "json modules take text frames", status: nil)
            }
            let env: JSONEnvelope
            do {
                env = try JSONEnvelope.parse(payload)
            } catch {
                throw GatewayReplyError(code: .badMessage, message: error.description, status: nil)
            }
            let id = env.id.map { String(decoding: UnsafeRawBufferPointer(rebasing: payload[$0]), as: UTF8.self) }
            return DecodedMessage(command: env.cmd, id: id, body: env.data ?? 0..<0, binary: false)
        case .text:
            if binary {
                throw GatewayReplyError(code: .badMessage, message: "text modules take text frames", status: nil)
            }
            // `cmd:body`; a message without a colon is a command with an empty body.
            if let colon = payload.firstIndex(of: UInt8(ascii: ":")) {
                let cmd = String(decoding: UnsafeRawBufferPointer(rebasing: payload[..<colon]), as: UTF8.self)
                if cmd.isEmpty {
                    throw GatewayReplyError(code: .badMessage, message: "empty command before ':'", status: nil)
                }
                return DecodedMessage(command: cmd, id: nil, body: (colon + 1)..<payload.count, binary: false)
            }
            if payload.isEmpty {
                throw GatewayReplyError(code: .badMessage, message: "empty message", status: nil)
            }
            return DecodedMessage(command: String(decoding: payload, as: UTF8.self), id: nil, body: payload.count..<payload.count, binary: false)
        case .raw:
            return DecodedMessage(command: rawCommand, id: nil, body: 0..<payload.count, binary: binary)
        }
    }

    /// Writes a reply payload. Returns the opcode to frame it with.
    /// - Parameters:
    ///   - body: the backend's body (or the echoed body).
    ///   - bodyIsJSON: whether `body` may be inserted as JSON as-is (validated by the caller's rule).
    ///   - bodyIsUTF8: the caller knows `body` is valid UTF-8 (a local echo of a text frame, which
    ///     the frame reader validated), so the text/binary choice needs no second pass over it.
    static func encodeReply(
        parser: ParserKind, command: String, id: String?, body: UnsafeRawBufferPointer, bodyIsJSON: Bool,
        requestBinary: Bool, bodyIsUTF8: Bool = false, into out: inout ByteBuffer
    ) -> WebSocketOpcode {
        switch parser {
        case .json:
            writeEnvelopeStart(command: command, id: id, into: &out)
            out.write(string: ",\"data\":")
            if body.isEmpty {
                out.write(string: "null")
            } else if bodyIsJSON {
                out.write(body)
            } else {
                JSONWriter.writeString(bytes: body, into: &out)
            }
            out.write(byte: UInt8(ascii: "}"))
            return .text
        case .text:
            out.write(string: command)
            out.write(byte: UInt8(ascii: ":"))
            out.write(body)
            return bodyIsUTF8 || isValidUTF8(body) ? .text : .binary
        case .raw:
            out.write(body)
            return rawReplyOpcode(body: body, requestBinary: requestBinary, bodyIsUTF8: bodyIsUTF8)
        }
    }

    /// The opcode of a raw-format reply, whose payload is the body itself: binary for a binary
    /// request, otherwise text when the body is UTF-8.
    static func rawReplyOpcode(body: UnsafeRawBufferPointer, requestBinary: Bool, bodyIsUTF8: Bool) -> WebSocketOpcode {
        if requestBinary { return .binary }
        return bodyIsUTF8 || isValidUTF8(body) ? .text : .binary
    }

    /// Writes an error reply in the wire format (DESIGN §3): `{"cmd","id","error":{…}}` for json
    /// (`cmd` and `id` when known), `error:{…,"cmd"}` for text, `{"error":{…}}` for raw. Always a
    /// text frame.
    static func encodeError(
        parser: ParserKind, command: String?, id: String?, error: GatewayReplyError, into out: inout ByteBuffer
    ) {
        switch parser {
        case .json:
            out.write(byte: UInt8(ascii: "{"))
            var first = true
            if let command {
                out.write(string: "\"cmd\":")
                JSONWriter.writeString(command, into: &out)
                first = false
            }
            if let id {
                out.write(string: first ? "\"id\":" : ",\"id\":")
                out.write(string: id)
                first = false
            }
            out.write(string: first ? "\"error\":" : ",\"error\":")
            writeErrorObject(error, command: nil, into: &out)
            out.write(byte: UInt8(ascii: "}"))
        case .text:
            out.write(string: "error:")
            writeErrorObject(error, command: command, into: &out)
        case .raw:
            out.write(string: "{\"error\":")
            writeErrorObject(error, command: nil, into: &out)
            out.write(byte: UInt8(ascii: "}"))
        }
    }

    /// `{"code":"…","message":"…","status":N}` (plus `"cmd"` for the text format, and
    /// `"retryAfterMs"` when the error says when to try again).
    static func writeErrorObject(_ error: GatewayReplyError, command: String?, into out: inout ByteBuffer) {
        out.write(byte: UInt8(ascii: "{"))
        if let command {
            out.write(string: "\"cmd\":")
            JSONWriter.writeString(command, into: &out)
            out.write(byte: UInt8(ascii: ","))
        }
        out.write(string: "\"code\":\"")
        out.write(string: error.code.rawValue)
        out.write(string: "\",\"message\":")
        JSONWriter.writeString(error.message, into: &out)
        if let status = error.status {
            out.write(string: ",\"status\":")
            out.write(decimal: status)
        }
        if let ms = error.retryAfterMs {
            out.write(string: ",\"retryAfterMs\":")
            out.write(decimal: ms)
        }
        out.write(byte: UInt8(ascii: "}"))
    }

    private static func writeEnvelopeStart(command: String, id: String?, into out: inout ByteBuffer) {
        out.write(string: "{\"cmd\":")
        JSONWriter.writeString(command, into: &out)
        if let id {
            out.write(string: ",\"id\":")
            out.write(string: id)
        }
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        return v.validate(bytes) && v.isAtBoundary
    }

    /// Whether a backend body is inserted into a json reply as JSON: its media type says JSON
    /// (`BackendResponse.contentTypeIsJSON`: `application/json` or `+json`) and it parses. Anything
    /// else becomes a JSON string.
    static func bodyIsJSON(typeIsJSON: Bool, body: UnsafeRawBufferPointer) -> Bool {
        typeIsJSON && JSONValidator.isValid(body)
    }
}
