public import GatewayBuffers
public import GatewayHTTP1

/// The server side of the opening handshake (RFC 6455 §4.2): checks an upgrade request and writes the
/// 101 response. Deciding whether to accept (path, origin, subprotocol, authentication) is left to
/// the caller, as NIO's `shouldUpgrade` and Hummingbird's `RouterShouldUpgrade` do.
public enum WebSocketHandshake {
    /// The GUID appended to the client's key before hashing (RFC 6455 §1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2, item 5.4).
    public static func acceptValue(forKey key: String) -> String {
        var sha = SHA1()
        var k = key, g = guid
        k.withUTF8 { sha.update(UnsafeRawBufferPointer($0)) }
        g.withUTF8 { sha.update(UnsafeRawBufferPointer($0)) }
        return Base64.encode(sha.finalize())
    }

    /// Checks that `head` is a WebSocket opening handshake (RFC 6455 §4.2.1).
    ///
    /// Requires GET, HTTP/1.1 or later, `Upgrade` listing `websocket` and `Connection` listing
    /// `Upgrade` (tokens, case-insensitive), `Sec-WebSocket-Version: 13` and exactly one
    /// `Sec-WebSocket-Key` that is base64 of 16 bytes. `Host` is the HTTP parser's business.
    /// - Throws: the first failed check; its `status` is 426 for the version, 400 otherwise.
    public static func validate(_ head: HTTPRequestHead) throws(WebSocketHandshakeError) -> WebSocketHandshakeRequest {
        guard head.method == .GET else { throw .methodNotGET(head.method) }
        let version = head.version
        guard version.major > 1 || (version.major == 1 && version.minor >= 1) else {
            throw .unsupportedHTTPVersion(version)
        }
        let headers = head.headers
        guard headers.contains(name: "upgrade", token: "websocket") else { throw .missingUpgradeHeader }
        guard headers.contains(name: "connection", token: "upgrade") else { throw .missingConnectionUpgrade }

        let versions = headers.values(name: "sec-websocket-version")
        guard versions.count == 1, trimmed(versions[0]) == "13" else {
            throw .unsupportedWebSocketVersion(versions.isEmpty ? nil : versions.joined(separator: ", "))
        }

        let keys = headers.values(name: "sec-websocket-key")
        guard let rawKey = keys.first else { throw .missingKey }
        let key = String(trimmed(rawKey))
        guard keys.count == 1, Base64.decodedCount(key) == 16 else { throw .invalidKey(keys.joined(separator: ", ")) }

        return WebSocketHandshakeRequest(
            key: key,
            subprotocols: headers.tokens(name: "sec-websocket-protocol"),
            extensions: headers.values(name: "sec-websocket-extensions"),
            origin: headers.first(name: "origin")
        )
    }

    /// Appends the `101 Switching Protocols` response (RFC 6455 §4.2.2, item 5).
    /// - Parameters:
    ///   - accept: `acceptValue(forKey:)` of the request's key.
    ///   - subprotocol: the one protocol the server picked from the client's offer, or nil for none.
    ///     Sending one the client did not offer makes the client fail the connection (RFC 6455 §4.1).
    ///   - extraHeaders: more fields from the gateway's upgrade hook (e.g. `Set-Cookie`). A field whose
    ///     name or value contains CR or LF is skipped, so it cannot inject headers.
    public static func writeResponse(
        accept: String, subprotocol: String?, extraHeaders: HTTPHeaders = HTTPHeaders(), into buffer: inout ByteBuffer
    ) {
        buffer.write(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
        buffer.write(string: accept)
        buffer.write(string: "\r\n")
        if let subprotocol, isSafe(subprotocol) {
            buffer.write(string: "Sec-WebSocket-Protocol: ")
            buffer.write(string: subprotocol)
            buffer.write(string: "\r\n")
        }
        for field in extraHeaders where isSafe(field.name) && isSafe(field.value) && !field.name.isEmpty {
            buffer.write(string: field.name)
            buffer.write(string: ": ")
            buffer.write(string: field.value)
            buffer.write(string: "\r\n")
        }
        buffer.write(string: "\r\n")
    }

    private static func isSafe(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 0x0D || $0 == 0x0A }
    }

    private static func trimmed(_ text: String) -> Substring {
        var s = text[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
