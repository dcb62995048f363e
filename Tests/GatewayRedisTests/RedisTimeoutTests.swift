import GatewayIO
import GatewayRedis
import GatewayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Redis handshake timeout", .serialized)
struct RedisTimeoutTests {
    /// A peer that completes the TCP handshake (the kernel does, from the backlog) but never answers
    /// AUTH: the attempt is abandoned after `connectTimeoutNanos` and retried.
    @Test(arguments: availableEngines())
    func silentPeerTimesOutAndIsRetried(engine: IOEngineKind) throws {
        let (fd, port) = try RedisServer.boundLoopbackSocket()
        defer { close(fd) }
        listen(fd, 16)

        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let url = try RedisURL(parsing: "redis://:pw@127.0.0.1:\(port)")
        let config = RedisConnection.Configuration(reconnectInitialNanos: 10_000_000, connectTimeoutNanos: 100_000_000)
        let (c, r) = t.sync { () -> (SendableBox<RedisConnection>, SendableBox<RedisRecorder>) in
            let c = RedisConnection(url: url, loop: t.loop, configuration: config)
            let r = RedisRecorder()
            c.delegate = r
            c.start()
            try? c.send(RedisCommand("PING"), completion: r.record)
            return (SendableBox(c), SendableBox(r))
        }
        #expect(t.wait { c.value.counters.reconnects >= 1 })
        #expect(t.sync { c.value.lastError } == "connect to redis://:***@127.0.0.1:\(port)/0 timed out")
        // The command still waits: a timeout is an outage, not a failure of the command.
        #expect(t.sync { r.value.results.isEmpty && c.value.queuedCommands == 1 })
        t.sync { c.value.close() }
        #expect(t.sync { r.value.results } == [.failure(.closed)])
    }
}
