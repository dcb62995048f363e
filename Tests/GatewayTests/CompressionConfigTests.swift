@testable import Gateway
import Testing

@Suite("modules[].compression")
struct CompressionConfigTests {
    func module(_ compression: String) -> String {
        """
        { "listen": "127.0.0.1:8080",
          "modules": [ { "path": "/c", "default": { "local": "echo" }, "compression": \(compression) } ] }
        """
    }

    func problems(_ text: String, env: [String: String] = [:]) -> [String] {
        do {
            _ = try GatewayConfig.parse(Array(text.utf8), environment: env)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("off unless enabled; the defaults of DESIGN §9")
    func defaults() throws {
        let none = try GatewayConfig.parse(Array("""
        { "listen": "127.0.0.1:8080", "modules": [ { "path": "/c", "default": { "local": "echo" } } ] }
        """.utf8), environment: [:])
        #expect(none.modules[0].compression == CompressionSettings())
        let c = try GatewayConfig.parse(Array(module(#"{ "enabled": true }"#).utf8), environment: [:]).modules[0].compression
        #expect(c.enabled && !c.contextTakeover && c.minBytes == 256 && c.level == 1 && c.maxWindowBits == 15)
    }

    @Test("every key, and ${VAR} for booleans and numbers")
    func everyKey() throws {
        let text = module(#"{ "enabled": "${ON}", "contextTakeover": true, "minBytes": 0, "level": 9, "maxWindowBits": "${BITS}" }"#)
        let c = try GatewayConfig.parse(Array(text.utf8), environment: ["ON": "true", "BITS": "10"]).modules[0].compression
        #expect(c.enabled && c.contextTakeover && c.minBytes == 0 && c.level == 9 && c.maxWindowBits == 10)
    }

    @Test("unknown keys, wrong types and out-of-range values name their JSON path")
    func errors() {
        #expect(problems(module(#"{ "enabled": true, "window": 10 }"#))
                == ["modules[0].compression.window: unknown key (allowed: enabled, contextTakeover, minBytes, level, maxWindowBits)"])
        #expect(problems(module(#"{ "enabled": 1 }"#)) == ["modules[0].compression.enabled: expected true or false"])
        #expect(problems(module(#"{ "contextTakeover": "yes" }"#)) == ["modules[0].compression.contextTakeover: expected true or false"])
        #expect(problems(module(#"{ "level": 0 }"#)) == ["modules[0].compression.level: must be between 1 and 9"])
        #expect(problems(module(#"{ "level": 10 }"#)) == ["modules[0].compression.level: must be between 1 and 9"])
        #expect(problems(module(#"{ "maxWindowBits": 8 }"#)) == ["modules[0].compression.maxWindowBits: must be between 9 and 15"])
        #expect(problems(module(#"{ "maxWindowBits": 16 }"#)) == ["modules[0].compression.maxWindowBits: must be between 9 and 15"])
        #expect(problems(module(#"{ "minBytes": -1 }"#)) == ["modules[0].compression.minBytes: must be between 0 and 1073741824"])
        #expect(problems(module(#"true"#)) == ["modules[0].compression: expected an object"])
    }
}
