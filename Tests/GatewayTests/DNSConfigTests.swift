@testable import Gateway
import GatewayBackend
import Testing

@Suite("io.dns")
struct DNSConfigTests {
    func config(_ dns: String) -> String {
        #"{ "listen": "127.0.0.1:8080", "io": { "dns": \#(dns) }, "modules": [ { "path": "/c", "default": "http://svc:9000/x" } ] }"#
    }

    func problems(_ text: String, env: [String: String] = [:]) -> [String] {
        do {
            _ = try GatewayConfig.parse(Array(text.utf8), environment: env)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("the defaults: the system's resolv.conf and hosts file, TTLs clamped to [1, 300] s")
    func defaults() throws {
        let c = try GatewayConfig.parse(Array(#"{ "listen": "127.0.0.1:8080", "modules": [ { "path": "/c", "default": "http://svc:9000/x" } ] }"#.utf8), environment: [:])
        #expect(c.io.dns == DNSSettings())
        #expect(c.io.dns.servers.isEmpty && c.io.dns.resolvConf == nil && c.io.dns.hostsFile == nil)
        #expect(c.io.dns.minTtlSeconds == 1 && c.io.dns.maxTtlSeconds == 300)
    }

    @Test("every key; servers get port 53 when they have none")
    func everyKey() throws {
        let text = config(#"{ "servers": ["10.0.0.2", "10.0.0.3:5353", "[fd00::2]:53", "fd00::3", "${DNS}"], "resolvConf": "/etc/hosts", "hostsFile": "/etc/hosts", "minTtlSeconds": 5, "maxTtlSeconds": "${MAX}" }"#)
        let d = try GatewayConfig.parse(Array(text.utf8), environment: ["DNS": "127.0.0.1:53", "MAX": "60"]).io.dns
        #expect(d.servers == ["10.0.0.2:53", "10.0.0.3:5353", "[fd00::2]:53", "[fd00::3]:53", "127.0.0.1:53"])
        #expect(d.resolvConf == "/etc/hosts" && d.hostsFile == "/etc/hosts")
        #expect(d.minTtlSeconds == 5 && d.maxTtlSeconds == 60)
    }

    @Test("bad values name their JSON path")
    func errors() {
        #expect(problems(config(#"{ "ttl": 1 }"#)) == ["io.dns.ttl: unknown key (allowed: servers, resolvConf, hostsFile, minTtlSeconds, maxTtlSeconds)"])
        #expect(problems(config(#"[]"#)) == ["io.dns: expected an object"])
        #expect(problems(config(#"{ "servers": "10.0.0.2" }"#)) == ["io.dns.servers: expected an array of strings"])
        #expect(problems(config(#"{ "servers": [] }"#)) == ["io.dns.servers: must name at least one server (leave it out to use resolvConf's)"])
        #expect(problems(config(#"{ "servers": ["10.0.0.2", "dns.local"] }"#))
                == [#"io.dns.servers[1]: not an IP address with an optional port, like 10.0.0.2, 10.0.0.2:53 or [fd00::2]:53: "dns.local""#])
        #expect(problems(config(#"{ "servers": ["10.0.0.2:0"] }"#)).first?.hasPrefix("io.dns.servers[0]: not an IP address") == true)
        #expect(problems(config(#"{ "servers": [53] }"#)) == ["io.dns.servers[0]: expected a string"])
        #expect(problems(config(#"{ "resolvConf": "/nonexistent/resolv.conf" }"#)).first?.hasPrefix(#"io.dns.resolvConf: cannot read "/nonexistent/resolv.conf""#) == true)
        #expect(problems(config(#"{ "hostsFile": "" }"#)) == ["io.dns.hostsFile: must not be empty"])
        #expect(problems(config(#"{ "minTtlSeconds": 0 }"#)) == ["io.dns.minTtlSeconds: must be between 1 and 86400"])
        #expect(problems(config(#"{ "maxTtlSeconds": 86401 }"#)) == ["io.dns.maxTtlSeconds: must be between 1 and 86400"])
        #expect(problems(config(#"{ "minTtlSeconds": 10, "maxTtlSeconds": 5 }"#)) == ["io.dns.maxTtlSeconds: must be at least minTtlSeconds (10), got 5"])
        #expect(problems(config(#"{ "minTtlSeconds": 600 }"#)) == ["io.dns.maxTtlSeconds: must be at least minTtlSeconds (600), got 300"])
    }
}
