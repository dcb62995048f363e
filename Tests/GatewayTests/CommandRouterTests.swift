@testable import Gateway
import Testing

@Suite("Command routing")
struct CommandRouterTests {
    let a = Route(target: .url("http://a/"))
    let b = Route(target: .url("http://b/"))
    let c = Route(target: .url("http://c/"))
    let d = Route(target: .url("http://d/"))

    @Test func exactThenLongestWildcardThenDefault() {
        let r = CommandRouter(routes: ["user.get": a, "user.*": b, "user.admin.*": c], defaultRoute: d)
        #expect(r.route(for: "user.get") == a)
        #expect(r.route(for: "user.put") == b)
        #expect(r.route(for: "user.admin.kick") == c)
        #expect(r.route(for: "user.admin") == b)
        #expect(r.route(for: "user") == d)  // "user.*" needs something after the dot
        #expect(r.route(for: "other") == d)
    }

    @Test func unknownWithoutDefault() {
        let r = CommandRouter(routes: ["x": a], defaultRoute: nil)
        #expect(r.route(for: "y") == nil)
        #expect(r.route(for: "x") == a)
    }

    @Test func starCatchesEverythingBeforeDefault() {
        let r = CommandRouter(routes: ["*": a, "k.*": b], defaultRoute: c)
        #expect(r.route(for: "k.x") == b)
        #expect(r.route(for: "z") == a)
    }
}
