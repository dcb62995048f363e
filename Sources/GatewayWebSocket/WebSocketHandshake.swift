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
        var digest: (UInt64, UInt64, UInt32) = (0, 0, 0)  // 20 bytes on the stack
        return withUnsafeMutableBytes(of: &digest) { d in
            sha.finalize(into: d.baseAddress.unsafelyUnwrapped)
            return Base64.encode(UnsafeRawBufferPointer(rebasing: d[0..<20]))
        }
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
        // One pass over the fields: every check below looks at a handful of names, and seven
        // lookups over a dozen fields were a fifth of a handshake's instructions.
        let headers = head.headers
        var upgrade = false, connection = false
        var versionCount = 0, keyCount = 0
        var wsVersion = "", key = ""
        var subprotocols: [String] = []
        var extensions: [String] = []
        var origin: String?
        for field in headers.fields {
            switch UpgradeField(field.name) {
            case .upgrade:
                if !upgrade { upgrade = HTTPHeaders.listContains(field.value, token: "websocket") }
            case .connection:
                if !connection { connection = HTTPHeaders.listContains(field.value, token: "upgrade") }
            case .version:
                versionCount += 1
                wsVersion = field.value
            case .key:
                keyCount += 1
                if keyCount == 1 { key = field.value }
            case .protocols:
                HTTPHeaders.appendListElements(of: field.value, to: &subprotocols)
            case .extensions:
                extensions.append(field.value)
            case .origin:
                if origin == nil { origin = field.value }
            case nil:
                break
            }
        }
        guard upgrade else { throw .missingUpgradeHeader }
        guard connection else { throw .missingConnectionUpgrade }
        guard versionCount == 1, HTTPHeaders.trimmed(wsVersion) == "13" else {
            let versions = headers.values(name: "sec-websocket-version")
            throw .unsupportedWebSocketVersion(versions.isEmpty ? nil : versions.joined(separator: ", "))
        }
        guard keyCount > 0 else { throw .missingKey }
        key = HTTPHeaders.trimmed(key)
        guard keyCount == 1, Base64.decodedCount(key) == 16 else {
            throw .invalidKey(headers.values(name: "sec-websocket-key").joined(separator: ", "))
        }
        return WebSocketHandshakeRequest(key: key, subprotocols: subprotocols, extensions: extensions, origin: origin)
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
}

/// The request fields `WebSocketHandshake.validate` reads, told apart by length first: the names
/// have distinct lengths, so a field that is none of them costs one comparison of counts.
private enum UpgradeField {
    case upgrade, connection, version, key, protocols, extensions, origin

    init?(_ name: String) {
        let candidate: (UpgradeField, StaticString)
        switch name.utf8.count {
        case 7: candidate = (.upgrade, "upgrade")
        case 10: candidate = (.connection, "connection")
        case 21: candidate = (.version, "sec-websocket-version")
        case 17: candidate = (.key, "sec-websocket-key")
        case 22: candidate = (.protocols, "sec-websocket-protocol")
        case 24: candidate = (.extensions, "sec-websocket-extensions")
        case 6: candidate = (.origin, "origin")
        default: return nil
        }
        var n = name
        let same = n.withUTF8 { HTTPHeaders.equalsIgnoringCase(UnsafeRawBufferPointer($0), candidate.1) }
        guard same else { return nil }
        self = candidate.0
    }
}
