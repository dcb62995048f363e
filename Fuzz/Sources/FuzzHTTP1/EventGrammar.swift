import FuzzSupport
import GatewayBuffers
import GatewayHTTP1
import GatewayWebSocket

/// Checks the event sequence of one connection: head (body)* end, again and again, with each body
/// matching the framing its head announced and the parser's limits.
struct EventGrammar {
    let limits: HTTPParserLimits

    private enum Framing {
        case none
        case length(Int)
        case chunked
    }

    /// The framing of the request whose head was reported, until its `.end`; nil between requests.
    private var framing: Framing?
    private var bodyBytes = 0

    init(limits: HTTPParserLimits) {
        self.limits = limits
    }

    /// Whether a head was reported and its `.end` was not.
    var isInsideRequest: Bool { framing != nil }

    mutating func observe(_ event: HTTPParserEvent, input: UnsafeRawBufferPointer) {
        switch event {
        case .head(let head):
            check(framing == nil, ".head inside a request")
            checkHead(head)
            framing = Self.framing(of: head)
            bodyBytes = 0
        case .body(let piece):
            guard let framing else { invariantFailed(".body before .head") }
            check(!piece.isEmpty, "empty .body")
            if let base = piece.baseAddress, let start = input.baseAddress {
                check(base >= start && base + piece.count <= start + input.count, ".body does not alias the input")
            }
            bodyBytes += piece.count
            switch framing {
            case .none: invariantFailed(".body in a request without a body")
            case .length(let length): check(bodyBytes <= length, "body longer than Content-Length \(length)")
            case .chunked: check(bodyBytes <= limits.maxBodyBytes, "chunked body over the limit")
            }
        case .end:
            guard let framing else { invariantFailed(".end before .head") }
            if case .length(let length) = framing {
                check(bodyBytes == length, "body of \(bodyBytes) bytes for Content-Length \(length)")
            }
            self.framing = nil
        }
    }

    /// The framing a validated head announces (RFC 9112 §6.3), recomputed from its fields.
    private static func framing(of head: HTTPRequestHead) -> Framing {
        if !head.headers.values(name: "transfer-encoding").isEmpty { return .chunked }
        let lengths = head.headers.tokens(name: "content-length")
        guard let first = lengths.first else {
            check(head.headers.values(name: "content-length").isEmpty, "Content-Length without a value accepted")
            return .none
        }
        guard let length = Int(first) else { invariantFailed("Content-Length \(first) accepted") }
        check(lengths.allSatisfy { $0 == first || Int($0) == length }, "different Content-Length values accepted")
        return .length(length)
    }

    /// What the parser promises about a head, and what the server does with it.
    private func checkHead(_ head: HTTPRequestHead) {
        let method = head.method.description.utf8
        check(!method.isEmpty && method.allSatisfy(Self.isToken), "method \(show(method))")
        let target = head.target.utf8
        check(!target.isEmpty && target.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "target \(show(target))")
        check(head.version == .http1_1 || head.version == .http1_0, "version \(head.version)")
        check(head.headers.count <= limits.maxHeaderCount, "\(head.headers.count) fields")
        for field in head.headers {
            check(!field.name.isEmpty && field.name.utf8.allSatisfy(Self.isToken), "field name \(show(field.name.utf8))")
            let value = field.value.utf8
            check(value.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }, "field value \(show(value))")
            check(value.first != 0x20 && value.first != 0x09 && value.last != 0x20 && value.last != 0x09, "untrimmed value")
        }

        // What ClientConnection does with a head.
        _ = head.isKeepAlive
        _ = head.headers.contains(name: "expect", token: "100-continue")
        // Path and query come from the origin form: the target itself, or for an absolute-form target
        // (`http://host/a?b`, RFC 9112 §3.2.2) the part from its path on.
        let origin = head.originForm
        if head.target.hasPrefix("/") {
            check(origin == head.target[...], "origin form of \(head.target)")
        }
        if origin.contains("?") {
            check("\(head.path)?\(head.query)" == origin, "path/query split of \(head.target)")
        } else {
            check(head.path == origin && head.query.isEmpty, "path of \(head.target)")
        }
        if let request = try? WebSocketHandshake.validate(head) {
            let accept = WebSocketHandshake.acceptValue(forKey: request.key)
            check(accept.utf8.count == 28, "accept value \(accept)")
            var response = ByteBuffer()
            WebSocketHandshake.writeResponse(accept: accept, subprotocol: request.subprotocols.first, into: &response)
            let text = response.description
            check(text.hasPrefix("HTTP/1.1 101 ") && text.hasSuffix("\r\n\r\n"), "101 response \(show(text.utf8))")
            check(text.utf8.count(where: { $0 == 0x0A }) == text.utf8.count(where: { $0 == 0x0D }), "bare CR/LF in 101")
        }
    }

    private static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }
}
