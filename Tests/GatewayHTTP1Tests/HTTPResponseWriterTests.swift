import GatewayBuffers
import GatewayHTTP1
import Testing

/// The written bytes as a string, for byte-exact comparisons with readable failures.
private func written(_ body: (inout ByteBuffer) -> Void) -> String {
    var buffer = ByteBuffer()
    body(&buffer)
    return buffer.description
}

@Suite("HTTPResponseWriter")
struct HTTPResponseWriterTests {
    @Test("head with Content-Length, keep-alive")
    func headKeepAlive() {
        let out = written {
            HTTPResponseWriter.writeHead(
                status: 200, headers: ["Content-Type": "text/plain"], contentLength: 5, keepAlive: true, into: &$0)
        }
        #expect(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
    }

    @Test("full response with body and Connection: close")
    func responseClose() {
        let out = written { buffer in
            Array("nope".utf8).withUnsafeBytes {
                HTTPResponseWriter.write(status: 404, headers: [:], body: $0, keepAlive: false, into: &buffer)
            }
        }
        #expect(out == "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
    }

    @Test("101 upgrade head without Content-Length")
    func switchingProtocols() {
        let headers: HTTPHeaders = [
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ]
        let out = written {
            HTTPResponseWriter.writeHead(status: 101, headers: headers, contentLength: nil, keepAlive: true, into: &$0)
        }
        #expect(out == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test("Content-Length and Connection: close already in the headers are not repeated")
    func noDuplicates() {
        let out = written {
            HTTPResponseWriter.writeHead(
                status: 200, headers: ["content-length": "3", "Connection": "close"], contentLength: 3, keepAlive: false,
                into: &$0)
        }
        #expect(out == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nConnection: close\r\n\r\n")
    }

    @Test("204 and 304 get neither Content-Length nor body")
    func noContent() {
        for status in [204, 304] {
            let out = written { buffer in
                Array("x".utf8).withUnsafeBytes {
                    HTTPResponseWriter.write(status: status, headers: [:], body: $0, keepAlive: true, into: &buffer)
                }
            }
            #expect(out == "HTTP/1.1 \(status) \(HTTPResponseWriter.reasonPhrase(for: status))\r\n\r\n")
        }
    }

    @Test("error responses carry the mapped status, a plain-text reason and Connection: close")
    func errorResponse() {
        let out = written { HTTPResponseWriter.writeError(.headTooLarge(limit: 16384), into: &$0) }
        #expect(out == "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n")
        let bad = written { HTTPResponseWriter.writeError(.invalidHeaderValue(name: "<script>"), into: &$0) }
        #expect(bad == "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n")
    }

    @Test("values cannot split the response; invalid names are skipped")
    func sanitising() {
        var headers = HTTPHeaders()
        headers.add(name: "X-Evil", value: "a\r\nSet-Cookie: b\0")
        headers.add(name: "Bad Name", value: "v")
        headers.add(name: "", value: "v")
        let out = written {
            HTTPResponseWriter.writeHead(status: 200, headers: headers, contentLength: 0, keepAlive: true, into: &$0)
        }
        #expect(out == "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: b \r\nContent-Length: 0\r\n\r\n")
    }

    @Test("a status without three digits is written as 500")
    func invalidStatus() {
        for status in [42, 1000, -1] {
            let out = written {
                HTTPResponseWriter.writeHead(status: status, headers: [:], contentLength: 0, keepAlive: true, into: &$0)
            }
            #expect(out == "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
        }
    }

    @Test("reason phrases")
    func reasons() {
        #expect(HTTPResponseWriter.reasonPhrase(for: 200) == "OK")
        #expect(HTTPResponseWriter.reasonPhrase(for: 413) == "Content Too Large")
        #expect(HTTPResponseWriter.reasonPhrase(for: 422) == "Unprocessable Content")
        #expect(HTTPResponseWriter.reasonPhrase(for: 505) == "HTTP Version Not Supported")
        #expect(HTTPResponseWriter.reasonPhrase(for: 299) == "Unknown")
        for status in [400, 413, 414, 431, 501, 505] {
            #expect(HTTPResponseWriter.reasonPhrase(for: status) != "Unknown", "every parser status has a phrase")
        }
    }

    @Test("a written error response parses as a response with its body")
    func errorLengthMatchesBody() {
        for error: HTTPParseError in [.invalidMethod, .bodyTooLarge(limit: 1), .unsupportedVersion(.http1_0)] {
            let out = written { HTTPResponseWriter.writeError(error, into: &$0) }
            let parts = out.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)
            #expect(parts.count == 2)
            #expect(out.contains("Content-Length: \(parts[1].utf8.count)\r\n"))
            #expect(out.hasPrefix("HTTP/1.1 \(error.status) "))
        }
    }
}
