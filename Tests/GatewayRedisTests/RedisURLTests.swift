import GatewayIO
import GatewayRedis
import Testing

@Suite("RedisURL")
struct RedisURLTests {
    @Test func defaultsPortAndDatabase() throws {
        let u = try RedisURL(parsing: "redis://127.0.0.1")
        #expect(u.address == SocketAddress(host: .v4(127, 0, 0, 1), port: 6379))
        #expect(u.database == 0)
        #expect(u.user == nil && u.password == nil)
        #expect(u.description == "redis://127.0.0.1:6379/0")
    }

    @Test func fullForm() throws {
        let u = try RedisURL(parsing: "redis://alice:s3cret@10.0.0.7:7000/3")
        #expect(u.address == SocketAddress(host: .v4(10, 0, 0, 7), port: 7000))
        #expect(u.user == "alice")
        #expect(u.password == "s3cret")
        #expect(u.database == 3)
        #expect(u.description == "redis://alice:***@10.0.0.7:7000/3")
        #expect(!"\(u)".contains("s3cret"))
    }

    @Test func passwordAloneAndEmptyPath() throws {
        let u = try RedisURL(parsing: "redis://:pw@localhost:6380/")
        #expect(u.user == nil)
        #expect(u.password == "pw")
        #expect(u.database == 0)
        #expect(u.address == SocketAddress(host: .v4(127, 0, 0, 1), port: 6380))
        #expect(u.description == "redis://:***@localhost:6380/0")
    }

    @Test func percentEncodedPasswordWithAtAndSlash() throws {
        let u = try RedisURL(parsing: "redis://u:p%40ss%2Fw@127.0.0.1/1")
        #expect(u.password == "p@ss/w")
        // An unencoded @ or / in the password works too: the last @ ends the user part.
        let v = try RedisURL(parsing: "redis://u:a@b/c@127.0.0.1:1234/2")
        #expect(v.password == "a@b/c")
        #expect(v.port == 1234 && v.database == 2)
    }

    @Test func ipv6() throws {
        let u = try RedisURL(parsing: "redis://[::1]:6390/4")
        #expect(u.address == SocketAddress(parsing: "[::1]:6390"))
        #expect(u.description == "redis://[::1]:6390/4")
        let d = try RedisURL(parsing: "redis://[::1]")
        #expect(d.port == 6379)
    }

    @Test(arguments: [
        ("http://127.0.0.1", RedisURLError.unsupportedScheme("http")),
        ("rediss://127.0.0.1", .unsupportedScheme("rediss")),
        ("127.0.0.1:6379", .unsupportedScheme("127.0.0.1:6379")),
        ("redis://", .missingHost),
        ("redis://:6379", .missingHost),
        ("redis://redis.internal:6379", .hostNameNotSupported("redis.internal")),
        ("redis://300.1.1.1", .invalidHost("300.1.1.1")),
        ("redis://[::1", .invalidHost("[::1")),
        ("redis://127.0.0.1:0", .invalidPort("0")),
        ("redis://127.0.0.1:70000", .invalidPort("70000")),
        ("redis://127.0.0.1:", .invalidPort("")),
        ("redis://127.0.0.1/x", .invalidDatabase("x")),
        ("redis://127.0.0.1/-1", .invalidDatabase("-1")),
        ("redis://127.0.0.1/99999999999", .invalidDatabase("99999999999")),
        ("redis://alice@127.0.0.1", .userWithoutPassword),
        ("redis://u:%4@127.0.0.1", .invalidPercentEncoding),
        ("redis://127.0.0.1/0?timeout=1", .unsupportedQuery),
    ])
    func rejects(text: String, expected: RedisURLError) {
        #expect(throws: expected) { try RedisURL(parsing: text) }
    }

    @Test func errorsNeverCarryThePassword() {
        do {
            _ = try RedisURL(parsing: "redis://u:topsecret@host.example/0")
            Issue.record("should have thrown")
        } catch {
            #expect(!error.description.contains("topsecret"))
        }
    }
}
