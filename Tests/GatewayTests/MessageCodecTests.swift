@testable import Gateway
import GatewayBuffers
import Testing

@Suite("Wire formats")
struct MessageCodecTests {
    func module(_ parser: ParserKind) -> ModuleConfig {
        ModuleConfig(path: "/m", parser: parser, handshake: nil, disconnect: nil, routes: [:], defaultRoute: nil,
                     command: "frame", origins: nil, subprotocols: [], forwardHeaders: [], hookTimeoutMs: nil)
    }

    func decode(_ s: String, _ p: ParserKind, binary: Bool = false) -> (String, String?, String)? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBytes { raw in
            let m = module(p)
            guard let d = try? MessageCodec.decode(raw, binary: binary, parser: m.parser, rawCommand: m.command) else { return nil }
            return (d.command, d.id, String(decoding: UnsafeRawBufferPointer(rebasing: raw[d.body]), as: UTF8.self))
        }
    }

    @Test func decodesEachFormat() {
        #expect(decode(#"{"cmd":"a.b","id":7,"data": {"x" : [1, 2]} }"#, .json)! == ("a.b", "7", #"{"x" : [1, 2]}"#))
        #expect(decode(#"{"cmd":"a","id":"q"}"#, .json)! == ("a", "\"q\"", ""))
        #expect(decode(#"{"data":1}"#, .json) == nil)
        #expect(decode(#"{"cmd":"a"}"#, .json, binary: true) == nil)
        #expect(decode("chat:hello: world", .text)! == ("chat", nil, "hello: world"))
        #expect(decode("ping", .text)! == ("ping", nil, ""))
        #expect(decode(":x", .text) == nil)
        #expect(decode("anything", .raw)! == ("frame", nil, "anything"))
    }

    func reply(_ p: ParserKind, id: String?, body: String, json: Bool) -> String {
        var out = ByteBuffer()
        let bytes = Array(body.utf8)
        _ = bytes.withUnsafeBytes { MessageCodec.encodeReply(parser: p, command: "c", id: id, body: $0, bodyIsJSON: json, requestBinary: false, into: &out) }
        return out.description
    }

    @Test func packsReplies() {
        #expect(reply(.json, id: "1", body: #"{"a":1}"#, json: true) == #"{"cmd":"c","id":1,"data":{"a":1}}"#)
        #expect(reply(.json, id: nil, body: "plain \"text\"", json: false) == #"{"cmd":"c","data":"plain \"text\""}"#)
        #expect(reply(.json, id: "\"x\"", body: "", json: false) == #"{"cmd":"c","id":"x","data":null}"#)
        #expect(reply(.text, id: nil, body: "ok", json: false) == "c:ok")
        #expect(reply(.raw, id: nil, body: "ok", json: false) == "ok")
    }

    @Test func packsErrors() {
        let e = GatewayReplyError(code: .backendError, message: "backend answered 500", status: 500)
        var out = ByteBuffer()
        MessageCodec.encodeError(parser: .json, command: "c", id: "9", error: e, into: &out)
        #expect(out.description == #"{"cmd":"c","id":9,"error":{"code":"backend_error","message":"backend answered 500","status":500}}"#)
        out.clear()
        MessageCodec.encodeError(parser: .json, command: nil, id: nil, error: GatewayReplyError(code: .badMessage, message: "m", status: nil), into: &out)
        #expect(out.description == #"{"error":{"code":"bad_message","message":"m"}}"#)
        out.clear()
        MessageCodec.encodeError(parser: .text, command: "c", id: nil, error: e, into: &out)
        #expect(out.description == #"error:{"cmd":"c","code":"backend_error","message":"backend answered 500","status":500}"#)
    }

    /// The media-type half of the rule is `BackendResponse.contentTypeIsJSON` (BackendResponseTests:
    /// application/json, problem+json, text/plain, no Content-Type).
    @Test func jsonBodiesNeedAJSONMediaType() {
        let body = Array(#"{"a":1}"#.utf8)
        body.withUnsafeBytes { raw in
            #expect(MessageCodec.bodyIsJSON(typeIsJSON: true, body: raw))
            #expect(!MessageCodec.bodyIsJSON(typeIsJSON: false, body: raw))
        }
        Array("{oops".utf8).withUnsafeBytes { #expect(!MessageCodec.bodyIsJSON(typeIsJSON: true, body: $0)) }
    }
}
