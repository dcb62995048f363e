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

    @Test("byte comparison ignores ASCII case only, in the 8-byte words and in the tail")
    func caseInsensitiveBytesEveryPair() {
        func reference(_ c: UInt8) -> UInt8 { (65...90).contains(c) ? c + 32 : c }
        var a = [UInt8](repeating: UInt8(ascii: "k"), count: 11)
        var b = a
        for position in [0, 5, 7, 8, 10] {
            for c in 0...255 {
                for d in 0...255 {
                    a[position] = UInt8(c)
                    b[position] = UInt8(d)
                    let got = a.withUnsafeBytes { x in b.withUnsafeBytes { y in HTTPHeaders.equalsIgnoringCase(x, y) } }
                    if got != (reference(UInt8(c)) == reference(UInt8(d))) {
                        Issue.record("position \(position): \(c) vs \(d) gave \(got)")
                        return
                    }
                }
            }
            a[position] = UInt8(ascii: "k")
            b[position] = UInt8(ascii: "k")
        }
    }

    @Test func caseInsensitiveNames() {
        #expect(HTTPHeaders.equalsIgnoringCase("Sec-WebSocket-Key", "sec-websocket-key"))
        #expect(!HTTPHeaders.equalsIgnoringCase("Sec-WebSocket-Key", "sec-websocket-kez"))
        #expect(!HTTPHeaders.equalsIgnoringCase("Host", "Hos"))
        #expect(HTTPHeaders.equalsIgnoringCase("host"[...], "HOST"))
    }
}
