import GatewayHTTP1
import Testing

@Suite struct HTTPHeadersTests {
    @Test(arguments: [
        ("Upgrade", true),
        ("keep-alive, Upgrade", true),
        ("keep-alive,upgrade", true),
        (" \tUPGRADE\t ", true),
        ("keep-alive, Upgrade2", false),
        ("Upgrad", false),
        ("", false),
        (",,", false),
        ("x, , upgrade ,", true),
    ])
    func connectionTokenList(value: String, expected: Bool) {
        let headers: HTTPHeaders = ["Connection": value]
        #expect(headers.contains(name: "connection", token: "upgrade") == expected)
    }

    @Test func tokenInLaterRepeatedField() {
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "keep-alive")
        headers.add(name: "CONNECTION", value: "Upgrade")
        #expect(headers.contains(name: "Connection", token: "Upgrade"))
        #expect(!headers.contains(name: "Upgrade", token: "websocket"))
    }

    @Test func caseInsensitiveNames() {
        #expect(HTTPHeaders.equalsIgnoringCase("Sec-WebSocket-Key", "sec-websocket-key"))
        #expect(!HTTPHeaders.equalsIgnoringCase("Sec-WebSocket-Key", "sec-websocket-kez"))
        #expect(!HTTPHeaders.equalsIgnoringCase("Host", "Hos"))
        #expect(HTTPHeaders.equalsIgnoringCase("host"[...], "HOST"))
    }
}
