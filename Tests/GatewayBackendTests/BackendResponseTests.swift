import GatewayBackend
import Testing

@Suite struct BackendResponseTests {
    func response(_ fields: [(String, String)]) -> BackendResponse {
        var r = BackendResponse()
        for (n, v) in fields { r.appendHeader(name: n, value: v) }
        return r
    }

    @Test func fieldsKeepOrderNamesAndValues() {
        let fields = [("Content-Type", "application/json"), ("X-Empty", ""), ("Gateway-Join", "a: b, c"), ("gateway-join", "d")]
        let r = response(fields)
        #expect(r.headers.map { [$0.name, $0.value] } == fields.map { [$0.0, $0.1] })
        #expect(r.header("GATEWAY-JOIN") == "a: b, c")
        #expect(r.values("Gateway-Join") == ["a: b, c", "d"])
        #expect(r.header("x-empty") == "")
        #expect(r.header("gateway-deliver") == nil)
        #expect(r.header("content-typ") == nil)
    }

    @Test func lookupsWithoutGatewayFieldsAndTheFirstContentType() {
        var r = response([("Content-Length", "2"), ("content-type", "application/json"), ("Content-Type", "text/plain"), ("X-Gateway-Join", "no")])
        #expect(r.header("Gateway-Join") == nil)
        #expect(r.header("x-gateway-join") == "no")
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.values("content-type") == ["application/json", "text/plain"])
        #expect(r.contentTypeIsJSON)
        r.removeAllHeaders()
        r.appendHeader(name: "Content-Type", value: "text/html")
        r.appendHeader(name: "GATEWAY-CLOSE", value: "1000")
        #expect(!r.contentTypeIsJSON)
        #expect(r.header("gateway-close") == "1000")
        #expect(r.header("gateway-") == nil)
    }

    @Test func removeAllHeadersStartsANewBlock() {
        var r = response([("A", "1")])
        r.removeAllHeaders()
        #expect(r.headers.isEmpty)
        r.appendHeader(name: "B", value: "2")
        #expect(r.header("a") == nil)
        #expect(r.header("b") == "2")
    }

    @Test(arguments: [
        ("application/json", true), ("Application/JSON; charset=utf-8", true), ("application/problem+json", true),
        ("text/plain", false), ("application/jsonx", false), ("", false),
        ("application/vnd.a-very-long-vendor-media-type-name+json", true), (" application/json ;x", true), ("+json", false),
    ])
    func contentTypeIsJSON(value: String, expected: Bool) {
        #expect(response([("Content-Type", value)]).contentTypeIsJSON == expected)
    }

    @Test func noContentTypeIsNotJSON() {
        #expect(!response([]).contentTypeIsJSON)
        #expect(!response([("content-type", "Text/HTML ; q=1")]).contentTypeIsJSON)
    }
}
