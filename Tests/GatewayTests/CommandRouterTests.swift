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
        #expect(r.route(for: "user.get")?.route == a)
        #expect(r.route(for: "user.put")?.route == b)
        #expect(r.route(for: "user.admin.kick")?.route == c)
        #expect(r.route(for: "user.admin")?.route == b)
        #expect(r.route(for: "user")?.route == d)  // "user.*" needs something after the dot
        #expect(r.route(for: "other")?.route == d)
    }

    @Test func unknownWithoutDefault() {
        let r = CommandRouter(routes: ["x": a], defaultRoute: nil)
        #expect(r.route(for: "y") == nil)
        #expect(r.route(for: "x")?.route == a)
    }

    @Test func starCatchesEverythingBeforeDefault() {
        let r = CommandRouter(routes: ["*": a, "k.*": b], defaultRoute: c)
        #expect(r.route(for: "k.x")?.route == b)
        #expect(r.route(for: "z")?.route == a)
    }
}
