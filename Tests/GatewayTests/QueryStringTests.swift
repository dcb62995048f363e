@testable import Gateway
import Testing

@Suite("QueryString")
struct QueryStringTests {
    /// `QueryString.firstValue` as a String, nil when it finds none.
    func value(_ name: String, in query: String) -> String? {
        let q = Array(query.utf8)
        var out = [UInt8](repeating: 0, count: q.count)
        return q.withUnsafeBytes { raw in
            out.withUnsafeMutableBytes { o in
                QueryString.firstValue(named: name, in: raw, into: o).map { String(decoding: $0, as: UTF8.self) }
            }
        }
    }

    @Test func findsTheFirstNonEmptyDecodableValue() {
        #expect(value("token", in: "a=1&token=abc.def-_") == "abc.def-_")
        #expect(value("token", in: "token=&token=x") == "x", "an empty value counts as absent")
        #expect(value("token", in: "token=%ZZ&token=y") == "y", "a bad escape counts as absent")
        #expect(value("token", in: "token=%FF&token=ok") == "ok", "so does invalid UTF-8")
        #expect(value("token", in: "token=%C3%A9") == "é")
        #expect(value("token", in: "%74oken=z") == "z", "names are compared decoded")
        #expect(value("token", in: "token=a%2Bb+c%3d") == "a+b c=")
        #expect(value("token", in: "&&token=v&") == "v")
        #expect(value("token", in: "token=a=b") == "a=b", "the name ends at the first =")
        #expect(value("token", in: "tokens=1&toke=2&token") == nil)
        #expect(value("token", in: "") == nil)
        #expect(value("token", in: "token=%4") == nil)
    }

    /// Random queries over a small alphabet: `firstValue` says what `AdminQuery` says.
    @Test func agreesWithAdminQuery() {
        let pieces = ["token", "tok", "en", "=", "&", "%74", "%", "%2", "%41", "%FF", "%C3%A9", "+", "a", ".", "x=y", ""]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let query = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            #expect(value("token", in: query) == AdminQuery(query)["token"], "\(query)")
        }
    }

    @Test func decodeRefusesAPercentWithoutTwoHexDigits() {
        #expect(AdminQuery.decode("a%2") == nil)
        #expect(AdminQuery.decode("a%2g") == nil)
        #expect(AdminQuery.decode("a%20b+c") == "a b c")
    }
}
