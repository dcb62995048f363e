import GatewayHTTP1
import Testing

/// Path and query of a request target. The absolute-form cases are the input FuzzHTTP1 found when
/// its invariant still compared the split with the raw target (`GET http://example.com/a?b`).
@Suite struct HTTPRequestHeadTests {
    @Test(arguments: [
        ("/a?b", "/a?b", "/a", "b"),
        ("/a", "/a", "/a", ""),
        ("/?", "/?", "/", ""),
        ("http://example.com/a?b", "/a?b", "/a", "b"),
        ("http://example.com", "/", "/", ""),
        ("http://example.com?b=1", "/?b=1", "/", "b=1"),
        ("HTTPS://h:8443/x/y?z?w", "/x/y?z?w", "/x/y", "z?w"),
        ("*", "*", "*", ""),
        ("example.com:443", "example.com:443", "example.com:443", ""),
    ])
    func originFormPathAndQuery(target: String, origin: String, path: String, query: String) {
        let head = HTTPRequestHead(method: .GET, target: target)
        #expect(head.originForm == origin[...])
        #expect(head.path == path[...])
        #expect(head.query == query[...])
    }
}
