@testable import Gateway
import Testing

@Suite("gateway.json: the cluster section")
struct ClusterConfigTests {
    func parse(_ cluster: String, env: [String: String] = [:]) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig.parse(Array(#"{"listen":"127.0.0.1:1","modules":[],"cluster":\#(cluster)}"#.utf8), environment: env)
    }

    func problems(_ cluster: String, env: [String: String] = [:]) -> [String] {
        do {
            _ = try parse(cluster, env: env)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("defaults, one URL or several, and the node id from the environment")
    func valid() throws {
        let one = try #require(try parse(#"{"redis":"redis://127.0.0.1:6379/0"}"#).cluster)
        #expect(one == ClusterSettings(redis: ["redis://127.0.0.1:6379/0"]))
        #expect(one.prefix == "gw" && one.nodeTimeoutSeconds == 10 && one.node == nil)
        let many = try #require(try parse(
            #"{"redis":["redis://127.0.0.1:1","redis://:pw@127.0.0.1:2/3"],"node":"${HOSTNAME:-}","prefix":"app-1","nodeTimeoutSeconds":4}"#,
            env: ["HOSTNAME": "web-2"]).cluster)
        #expect(many.redis.count == 2 && many.node == "web-2" && many.prefix == "app-1" && many.nodeTimeoutSeconds == 4)
        // `${HOSTNAME:-}` with the variable unset: a random id at start.
        #expect(try parse(#"{"redis":"redis://127.0.0.1:1","node":"${HOSTNAME:-}"}"#).cluster?.node == nil)
    }

    @Test("without the section there is no cluster")
    func absent() throws {
        #expect(try GatewayConfig.parse(Array(#"{"listen":"127.0.0.1:1","modules":[]}"#.utf8), environment: [:]).cluster == nil)
    }

    @Test("every mistake names its JSON path")
    func invalid() {
        #expect(problems("{}") == ["cluster.redis: required (a redis:// URL, or an array of them to shard over)"])
        #expect(problems(#"{"redis":[]}"#) == ["cluster.redis: must name at least one Redis"])
        #expect(problems(#"{"redis":"redis://127.0.0.1:1","other":1}"#)
            == ["cluster.other: unknown key (allowed: redis, node, prefix, nodeTimeoutSeconds)"])
        #expect(problems(#"{"redis":"redis://127.0.0.1:1","node":"a:b"}"#)
            == [#"cluster.node: must be 1–32 letters, digits, - or _, got "a:b""#])
        #expect(problems(#"{"redis":"redis://127.0.0.1:1","prefix":""}"#)
            == [#"cluster.prefix: must be 1–32 letters, digits, - or _, got """#])
        #expect(problems(#"{"redis":"redis://127.0.0.1:1","nodeTimeoutSeconds":1}"#)
            == ["cluster.nodeTimeoutSeconds: must be between 2 and 3600"])
        #expect(problems(#"{"redis":["redis://127.0.0.1:1","redis://127.0.0.1:1"]}"#) == ["cluster.redis: lists the same Redis twice"])
        #expect(problems(#"{"redis":"http://127.0.0.1:1"}"#).first?.hasPrefix("cluster.redis: ") == true)
        #expect(problems(#"{"redis":["redis://127.0.0.1:1",5]}"#) == ["cluster.redis[1]: expected a string"])
        #expect(problems(#""redis://127.0.0.1:1""#) == ["cluster: expected an object"])
    }

    @Test("a random node id is a valid name and differs between calls")
    func randomNode() {
        let a = ClusterSettings.randomNodeID(), b = ClusterSettings.randomNodeID()
        #expect(ClusterSettings.isValidName(a) && a.utf8.count == 11 && a.hasPrefix("n"))
        #expect(a != b)
    }
}
