import GatewayBuffers
import GatewayHTTP1
import GatewayWebSocket
import Testing

private func request(
    method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, _ changes: (inout HTTPHeaders) -> Void = { _ in }
) -> HTTPRequestHead {
    var headers: HTTPHeaders = [
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": "http://example.com",
        "Sec-WebSocket-Protocol": "chat, superchat",
        "Sec-WebSocket-Version": "13",
    ]
    changes(&headers)
    return HTTPRequestHead(method: method, target: "/chat", version: version, headers: headers)
}

private func replacing(_ name: String, with value: String?) -> (inout HTTPHeaders) -> Void {
    { headers in
        headers.remove(name: name)
        if let value { headers.add(name: name, value: value) }
    }
}

private func failure(_ head: HTTPRequestHead) -> WebSocketHandshakeError? {
    do {
        _ = try WebSocketHandshake.validate(head)
        return nil
    } catch {
        return error
    }
}

@Suite struct WebSocketHandshakeTests {
    @Test func rfcExampleAcceptValue() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func validRequest() throws {
        let result = try WebSocketHandshake.validate(request())
        #expect(result.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(result.subprotocols == ["chat", "superchat"])
        #expect(result.extensions == [])
        #expect(result.origin == "http://example.com")
        #expect(result.acceptValue == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func tokensAreCaseInsensitiveAndListed() throws {
        let head = request {
            $0.remove(name: "upgrade")
            $0.remove(name: "connection")
            $0.add(name: "upgrade", value: "WebSocket")
            $0.add(name: "CONNECTION", value: "keep-alive, upgrade")
            $0.add(name: "sec-websocket-protocol", value: " v2.json ,, ")
            $0.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; client_max_window_bits")
        }
        let result = try WebSocketHandshake.validate(head)
        #expect(result.subprotocols == ["chat", "superchat", "v2.json"])
        #expect(result.extensions == ["permessage-deflate; client_max_window_bits"])
    }

    @Test func laterHTTPVersionIsAccepted() throws {
        _ = try WebSocketHandshake.validate(request(version: HTTPVersion(major: 1, minor: 2)))
    }

    @Test func noOriginNoProtocols() throws {
        let result = try WebSocketHandshake.validate(request {
            $0.remove(name: "origin")
            $0.remove(name: "sec-websocket-protocol")
        })
        #expect(result.origin == nil)
        #expect(result.subprotocols == [])
    }

    @Test func failures() {
        let cases: [(HTTPRequestHead, WebSocketHandshakeError, Int)] = [
            (request(method: .POST), .methodNotGET(.POST), 400),
            (request(version: .http1_0), .unsupportedHTTPVersion(.http1_0), 400),
            (request(replacing("Upgrade", with: nil)), .missingUpgradeHeader, 400),
            (request(replacing("Upgrade", with: "h2c")), .missingUpgradeHeader, 400),
            (request(replacing("Connection", with: nil)), .missingConnectionUpgrade, 400),
            (request(replacing("Connection", with: "keep-alive")), .missingConnectionUpgrade, 400),
            (request(replacing("Sec-WebSocket-Version", with: "8")), .unsupportedWebSocketVersion("8"), 426),
            (request(replacing("Sec-WebSocket-Version", with: "13, 8")), .unsupportedWebSocketVersion("13, 8"), 426),
            (request(replacing("Sec-WebSocket-Version", with: nil)), .unsupportedWebSocketVersion(nil), 426),
            (request(replacing("Sec-WebSocket-Key", with: nil)), .missingKey, 400),
            (request(replacing("Sec-WebSocket-Key", with: "AAAAAAAAAAAAAAAAAAAA")), .invalidKey("AAAAAAAAAAAAAAAAAAAA"), 400),
            (request(replacing("Sec-WebSocket-Key", with: "not base64 at all!!!!!!!")), .invalidKey("not base64 at all!!!!!!!"), 400),
            (
                request { $0.add(name: "Sec-WebSocket-Key", value: "AQIDBAUGBwgJCgsMDQ4PEA==") },
                .invalidKey("dGhlIHNhbXBsZSBub25jZQ==, AQIDBAUGBwgJCgsMDQ4PEA=="), 400
            ),
        ]
        for (head, expected, status) in cases {
            let error = failure(head)
            #expect(error == expected)
            #expect(error?.status == status)
            #expect(error?.description.isEmpty == false)
        }
    }

    @Test func versionErrorAdvertisesVersion13() {
        let error = failure(request(replacing("Sec-WebSocket-Version", with: "7")))
        #expect(error?.responseHeaders["Sec-WebSocket-Version"] == "13")
        #expect(failure(request(method: .PUT))?.responseHeaders.count == 0)
    }

    @Test func keyWithSurroundingSpaceIsTrimmed() throws {
        let result = try WebSocketHandshake.validate(request(replacing("Sec-WebSocket-Key", with: " dGhlIHNhbXBsZSBub25jZQ== ")))
        #expect(result.key == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test func response() {
        var buffer = ByteBuffer()
        WebSocketHandshake.writeResponse(
            accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", subprotocol: "chat",
            extraHeaders: ["Set-Cookie": "a=b", "X-Bad": "x\r\nInjected: y"], into: &buffer)
        #expect(
            buffer.description
                == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\n\r\n")
        var plain = ByteBuffer()
        WebSocketHandshake.writeResponse(accept: "x", subprotocol: nil, into: &plain)
        #expect(plain.description == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
    }
}
