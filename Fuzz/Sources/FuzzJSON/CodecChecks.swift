import FuzzSupport
import GatewayBuffers
@testable import Gateway
import GatewayJSON

/// `MessageCodec.decode` as a module with this wire format calls it (raw modules map every message
/// to the command `frame` here).
func decode(_ bytes: UnsafeRawBufferPointer, binary: Bool, _ parser: ParserKind) -> Result<DecodedMessage, GatewayReplyError> {
    MessageCodec.decode(bytes, binary: binary, parser: parser, rawCommand: "frame")
}

/// The json module: decode equals the envelope; replies and errors are valid JSON carrying the parts.
func checkJSONCodec(_ bytes: UnsafeRawBufferPointer, envelope: Result<JSONEnvelope, JSONEnvelopeError>) {
    if case .success = decode(bytes, binary: true, .json) { invariantFailed("json module took binary") }
    let decoded = decode(bytes, binary: false, .json)
    switch (decoded, envelope) {
    case (.success(let message), .success(let env)):
        check(message.command == env.cmd && message.body == (env.data ?? 0..<0) && !message.binary, "decode differs from the envelope")
        let id = env.id.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        check(message.id == id, "id \(String(describing: message.id))")
        let body = UnsafeRawBufferPointer(rebasing: bytes[message.body])
        // The echo reply: the data goes back as JSON. (Non-JSON bodies become strings; `checkStringWriter`
        // covers that writer on every input.)
        var out = ByteBuffer()
        let bodyIsJSON = MessageCodec.bodyIsJSON(typeIsJSON: true, body: body)
        check(body.isEmpty || bodyIsJSON, "data \(show(body)) is not JSON")
        let opcode = MessageCodec.encodeReply(
            parser: .json, command: message.command, id: message.id, body: body, bodyIsJSON: bodyIsJSON,
            requestBinary: false, into: &out)
        check(opcode == .text, "json reply as \(opcode)")
        checkReply(out, command: message.command, idToken: message.id, body: body, bodyIsJSON: bodyIsJSON)
        checkErrorReply(.json, command: message.command, id: message.id, message: "x")
    case (.failure(let error), .failure(let envError)):
        check(error.code == .badMessage && error.message == envError.description, "decode error \(error)")
        checkErrorReply(.json, command: nil, id: nil, message: error.message)
    default:
        invariantFailed("decode \(decoded) but envelope \(envelope)")
    }
}

/// A json reply parses, and its cmd, id and data are what went in.
func checkReply(_ out: ByteBuffer, command: String, idToken: String?, body: UnsafeRawBufferPointer, bodyIsJSON: Bool) {
    out.withUnsafeReadableBytes { text in
        let parsed = Result { () throws(JSONError) in try JSONValue.parse(text) }
        guard case .success(let reply) = parsed else { invariantFailed("reply \(show(text)) is not JSON: \(parsed)") }
        check(reply["cmd"]?.stringValue.map { JSONScannerSame($0, command) } == true, "reply cmd in \(show(text))")
        if let idToken {
            check(reply["id"] == (try? JSONValue.parse(idToken)), "reply id in \(show(text))")
        } else {
            check(reply["id"] == nil, "reply has an id")
        }
        let data = reply["data"]
        if body.isEmpty {
            check(data == .null, "empty body is not null in \(show(text))")
        } else if bodyIsJSON {
            check(data == (try? JSONValue.parse(body)), "reply data in \(show(text))")
        } else {
            check(data?.stringValue.map { JSONScannerSame($0, String(decoding: body, as: UTF8.self)) } == true, "reply data string in \(show(text))")
        }
    }
}

/// An error reply is valid JSON (json, raw) or `error:` + JSON (text).
func checkErrorReply(_ parser: ParserKind, command: String?, id: String?, message: String) {
    var out = ByteBuffer()
    let error = GatewayReplyError(code: .badMessage, message: message, status: 400)
    MessageCodec.encodeError(parser: parser, command: command, id: id, error: error, into: &out)
    out.withUnsafeReadableBytes { text in
        var json = text
        if parser == .text {
            check(text.starts(with: "error:".utf8), "text error \(show(text))")
            json = UnsafeRawBufferPointer(rebasing: text[6...])
        }
        let parsed = Result { () throws(JSONError) in try JSONValue.parse(json) }
        guard case .success(let value) = parsed else { invariantFailed("error reply \(show(text)) is not JSON") }
        let object = parser == .text ? value : value["error"]
        check(object?["message"]?.stringValue.map { JSONScannerSame($0, message) } == true, "error message in \(show(text))")
    }
}

/// The text module: `cmd:body` split at the first colon, and its reply.
func checkTextCodec(_ bytes: UnsafeRawBufferPointer) {
    if case .success = decode(bytes, binary: true, .text) { invariantFailed("text module took binary") }
    let decoded = decode(bytes, binary: false, .text)
    let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
    switch decoded {
    case .success(let message):
        let cmdEnd = colon ?? bytes.count
        check(cmdEnd > 0, "empty command accepted")
        check(message.command == String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<cmdEnd]), as: UTF8.self), "command \(message.command.debugDescription)")
        check(message.body == (colon.map { $0 + 1 } ?? bytes.count)..<bytes.count, "body \(message.body)")
        check(message.id == nil && !message.binary, "text message with id or binary")
        let body = UnsafeRawBufferPointer(rebasing: bytes[message.body])
        var out = ByteBuffer()
        let opcode = MessageCodec.encodeReply(
            parser: .text, command: message.command, id: nil, body: body, bodyIsJSON: false, requestBinary: false, into: &out)
        check(out.readableArray == Array(message.command.utf8) + [UInt8(ascii: ":")] + Array(body), "text reply")
        check((opcode == .text) == (String(validating: body, as: UTF8.self) != nil), "text reply opcode \(opcode)")
        checkErrorReply(.text, command: message.command, id: nil, message: "y")
    case .failure(let error):
        check(error.code == .badMessage, "text decode error \(error)")
        check(colon == 0 || bytes.isEmpty, "text decode rejected \(show(bytes)): \(error.message)")
    }
    for binary in [false, true] {
        guard case .success(let message) = decode(bytes, binary: binary, .raw) else {
            invariantFailed("raw module rejected a message")
        }
        check(message.command == "frame" && message.body == 0..<bytes.count && message.binary == binary, "raw decode")
    }
    checkErrorReply(.raw, command: nil, id: nil, message: String(decoding: bytes.prefix(64), as: UTF8.self))
}

/// Arbitrary bytes written as a JSON string decode to the lossy UTF-8 decoding of those bytes.
func checkStringWriter(_ bytes: UnsafeRawBufferPointer) {
    var out = ByteBuffer()
    JSONWriter.writeString(bytes: bytes, into: &out)
    out.withUnsafeReadableBytes { text in
        let parsed = Result { () throws(JSONError) in try JSONValue.parse(text) }
        guard case .success(.string(let s)) = parsed else { invariantFailed("writeString(bytes:) gave \(show(text))") }
        check(JSONScannerSame(s, String(decoding: bytes, as: UTF8.self)), "writeString(bytes:) of \(show(bytes)) decodes to \(s.debugDescription)")
    }
}
