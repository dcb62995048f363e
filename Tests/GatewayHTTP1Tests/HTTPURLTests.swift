import GatewayHTTP1
import Testing

@Suite("HTTPURL")
struct HTTPURLTests {
    @Test("splits into scheme, host, port, Host header and target")
    func parts() throws {
        let url = try HTTPURL("HTTP://127.0.0.1:9000/x/y?z=1#frag", schemes: ["http"])
        #expect(url.scheme == "http")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 9000)
        #expect(url.hostHeader == "127.0.0.1:9000")
        #expect(url.target == "/x/y?z=1", "the fragment is never sent")
        #expect(url.hostAndPort == "127.0.0.1:9000")
        #expect(url.description == "HTTP://127.0.0.1:9000/x/y?z=1#frag")
    }

    @Test("default ports, and a Host header without them")
    func defaults() throws {
        #expect(try HTTPURL("http://h", schemes: ["http"]).port == 80)
        #expect(try HTTPURL("http://h:80/", schemes: ["http"]).hostHeader == "h")
        #expect(try HTTPURL("https://h/a", schemes: ["https"]).port == 443)
        #expect(try HTTPURL("ws://h:8080", schemes: ["ws"]).hostHeader == "h:8080")
        #expect(try HTTPURL("http://h", schemes: ["http"]).target == "/")
        #expect(try HTTPURL("http://h?q", schemes: ["http"]).target == "/?q")
    }

    @Test("IPv6 literals keep their brackets where HTTP needs them")
    func ipv6() throws {
        let url = try HTTPURL("http://[::1]:8080/p", schemes: ["http"])
        #expect(url.host == "::1")
        #expect(url.hostHeader == "[::1]:8080")
        #expect(url.hostAndPort == "[::1]:8080")
        #expect(try HTTPURL("http://[::1]/", schemes: ["http"]).hostHeader == "[::1]")
    }

    @Test("refuses what the gateway must not call, saying why")
    func refusals() {
        let cases: [(String, String)] = [
            ("h:80", "not an absolute URL"), ("ftp://h", "the scheme must be http"), ("http://", "no host"),
            ("http://:80/", "no host"), ("http://h:0/", "the port must be 1–65535"),
            ("http://h:99999/", "the port must be 1–65535"), ("http://h:8x/", "the port must be 1–65535"),
            ("http://u@h/", "user information"), ("http://h /", "no spaces or control characters"),
            ("http://h/\u{7F}", "no spaces or control characters"), ("http://[::1/", "unclosed IPv6 literal"),
            ("http://[::1]x/", "junk after the IPv6 literal"),
        ]
        for (text, why) in cases {
            #expect(throws: HTTPURL.ParseError.self, "\(text)") { try HTTPURL(text, schemes: ["http"]) }
            do {
                _ = try HTTPURL(text, schemes: ["http"])
            } catch {
                #expect(error.description.contains(why), "\(text): \(error)")
                #expect(error.description.contains(text), "the error names the URL")
            }
        }
        #expect(throws: HTTPURL.ParseError.self) { try HTTPURL("https://h/", schemes: ["http"]) }
    }
}
