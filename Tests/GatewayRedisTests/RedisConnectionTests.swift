import GatewayIO
import GatewayRedis
import GatewayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The client against a real redis-server, on every available engine. Serialized: each test starts
/// its own server, and this machine has two cores.
@Suite("RedisConnection", .serialized, .enabled(if: RedisServer.binary != nil, "redis-server is not installed (apt-get install -y redis-server)"))
struct RedisConnectionTests {
    /// A started command connection and its recorder, on `t`'s loop.
    static func connect(_ t: RedisTestLoop, _ url: String, configuration: RedisConnection.Configuration = .init(),
                        start: Bool = true) throws -> (SendableBox<RedisConnection>, SendableBox<RedisRecorder>) {
        let u = try RedisURL(parsing: url)
        let (c, r) = t.sync { () -> (SendableBox<RedisConnection>, SendableBox<RedisRecorder>) in
            let c = RedisConnection(url: u, loop: t.loop, configuration: configuration)
            let r = RedisRecorder()
            c.delegate = r
            if start { c.start() }
            return (SendableBox(c), SendableBox(r))
        }
        return (c, r)
    }

    @Test(arguments: availableEngines())
    func pipelinesSetGetIncrInOrder(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (c, r) = try Self.connect(t, server.url(), start: false)
        // The first 300 are sent while connecting (queued), the rest once up (written at once).
        func sendTriples(_ range: Range<Int>) -> Int {
            t.sync {
                c.value.start()  // the first time only: later calls are ignored
                for i in range {
                    try? c.value.send(RedisCommand("SET", "k\(i)", "v\(i)"), completion: r.value.record)
                    try? c.value.send(RedisCommand("GET", "k\(i)"), completion: r.value.record)
                    try? c.value.send(RedisCommand("INCR", "n"), completion: r.value.record)
                }
                return c.value.queuedCommands
            }
        }
        #expect(sendTriples(0..<100) == 300)
        #expect(t.wait { c.value.state == .up })
        #expect(sendTriples(100..<334) == 0)  // 1,002 commands in all
        #expect(t.wait { r.value.results.count == 1_002 })
        let results = t.sync { r.value.results }
        for i in 0..<334 {
            #expect(results[3 * i] == .success(.status("OK")))
            #expect(results[3 * i + 1] == .success(.bulk(Array("v\(i)".utf8))))
            #expect(results[3 * i + 2] == .success(.integer(Int64(i + 1))))
        }
        let counters = t.sync { c.value.counters }
        #expect(counters.commandsSent == 1_002)
        #expect(counters.replies == 1_002)
        #expect(counters.errors == 0)
        #expect(t.sync { c.value.inflightCommands } == 0)
        t.sync { c.value.close() }
    }

    @Test(arguments: availableEngines())
    func errorRepliesAreReplies(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (c, r) = try Self.connect(t, server.url())
        t.sync {
            try? c.value.send(RedisCommand("SET", "s", "text"), completion: r.value.record)
            try? c.value.send(RedisCommand("INCR", "s"), completion: r.value.record)
            try? c.value.send(RedisCommand("GET", "missing"), completion: r.value.record)
        }
        #expect(t.wait { r.value.results.count == 3 })
        let results = t.sync { r.value.results }
        #expect(results[1] == .success(.error("ERR value is not an integer or out of range")))
        #expect(results[2] == .success(.bulk(nil)))
        #expect(t.sync { c.value.counters.errors } == 1)
        t.sync { c.value.close() }
    }

    @Test(arguments: availableEngines())
    func authWithRequirepass(engine: IOEngineKind) throws {
        let server = try RedisServer(arguments: ["--requirepass", "s3cret"])
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }

        for userInfo in [":s3cret@", "default:s3cret@"] {
            let (c, r) = try Self.connect(t, server.url(userInfo: userInfo))
            t.sync { try? c.value.send(RedisCommand("PING"), completion: r.value.record) }
            #expect(t.wait { r.value.results.count == 1 })
            #expect(t.sync { r.value.results } == [.success(.status("PONG"))], "\(userInfo)")
            #expect(t.sync { c.value.state } == .up)
            t.sync { c.value.close() }
        }

        // A wrong password: the waiting command fails with the handshake's error, which names AUTH
        // and carries Redis' message; the connection stays down and keeps retrying.
        let (bad, rb) = try Self.connect(t, server.url(userInfo: ":wrong@"))
        t.sync { try? bad.value.send(RedisCommand("PING"), completion: rb.value.record) }
        #expect(t.wait { rb.value.results.count == 1 })
        guard case .failure(.handshakeFailed(let command, let message))? = t.sync({ rb.value.results.first }) else {
            Issue.record("expected handshakeFailed, got \(t.sync { rb.value.results })")
            return
        }
        #expect(command == "AUTH")
        #expect(message.hasPrefix("WRONGPASS"))
        #expect(t.wait { bad.value.lastError?.contains("WRONGPASS") == true })
        #expect(t.sync { bad.value.state } != .up)
        #expect(t.sync { bad.value.counters.failed } == 1)
        t.sync { bad.value.close() }

        // No password at all: Redis answers commands with NOAUTH, an error reply.
        let (none, rn) = try Self.connect(t, server.url())
        t.sync { try? none.value.send(RedisCommand("GET", "x"), completion: rn.value.record) }
        #expect(t.wait { rn.value.results.count == 1 })
        if case .success(.error(let m))? = t.sync({ rn.value.results.first }) {
            #expect(m.hasPrefix("NOAUTH"))
        } else {
            Issue.record("expected a NOAUTH error reply")
        }
        t.sync { none.value.close() }
    }

    @Test(arguments: availableEngines())
    func selectsTheURLsDatabase(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (db3, r3) = try Self.connect(t, server.url(path: "/3"))
        let (db0, r0) = try Self.connect(t, server.url(path: "/0"))
        t.sync {
            try? db3.value.send(RedisCommand("SET", "where", "three"), completion: r3.value.record)
            try? db3.value.send(RedisCommand("GET", "where"), completion: r3.value.record)
        }
        #expect(t.wait { r3.value.results.count == 2 })
        t.sync { try? db0.value.send(RedisCommand("GET", "where"), completion: r0.value.record) }
        #expect(t.wait { r0.value.results.count == 1 })
        #expect(t.sync { r3.value.results[1] } == .success(.bulk(Array("three".utf8))))
        #expect(t.sync { r0.value.results[0] } == .success(.bulk(nil)))

        let (out, ro) = try Self.connect(t, server.url(path: "/99"))
        t.sync { try? out.value.send(RedisCommand("PING"), completion: ro.value.record) }
        #expect(t.wait { ro.value.results.count == 1 })
        guard case .failure(.handshakeFailed("SELECT", let message))? = t.sync({ ro.value.results.first }) else {
            Issue.record("expected SELECT to fail, got \(t.sync { ro.value.results })")
            return
        }
        #expect(message.contains("out of range"))
        t.sync { db3.value.close(); db0.value.close(); out.value.close() }
    }

    @Test(arguments: availableEngines())
    func boundedQueueRefusesOverflow(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let config = RedisConnection.Configuration(maxQueuedCommands: 5, maxQueuedBytes: 200)
        let (c, r) = try Self.connect(t, server.url(), configuration: config, start: false)
        let outcomes = t.sync { () -> [RedisError?] in
            (0..<6).map { i in
                do throws(RedisError) {
                    try c.value.send(RedisCommand("INCR", "q"), completion: r.value.record)
                    return nil
                } catch {
                    return error
                }
            }
        }
        #expect(outcomes.prefix(5).allSatisfy { $0 == nil })
        #expect(outcomes[5] == .queueFull(commands: 5, bytes: 200))
        #expect(t.sync { c.value.counters.dropped } == 1)
        #expect(t.sync { c.value.queuedCommands } == 5)

        // Too many bytes is refused as well, whatever the count.
        let (b, _) = try Self.connect(t, server.url(), configuration: config, start: false)
        let big = String(repeating: "x", count: 300)
        #expect(throws: RedisError.queueFull(commands: 5, bytes: 200)) {
            try t.sync { () -> Result<Void, RedisError> in
                do throws(RedisError) { try b.value.send(RedisCommand("SET", "big", big)); return .success(()) }
                catch { return .failure(error) }
            }.get()
        }

        // The accepted five go out once connected, in order.
        t.sync { c.value.start() }
        #expect(t.wait { r.value.results.count == 5 })
        #expect(t.sync { r.value.results } == (1...5).map { .success(.integer(Int64($0))) })

        // Closing fails whatever still waits.
        let (d, rd) = try Self.connect(t, server.url(), configuration: config, start: false)
        t.sync {
            try? d.value.send(RedisCommand("PING"), completion: rd.value.record)
            d.value.close()
        }
        #expect(t.sync { rd.value.results } == [.failure(.closed)])
        #expect(t.sync { () -> RedisError? in
            do throws(RedisError) { try d.value.send(RedisCommand("PING")); return nil } catch { return error }
        } == .closed)
        t.sync { c.value.close(); b.value.close() }
    }

    @Test(arguments: availableEngines())
    func closeWhileConnectingNeverGoesUp(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (c, r) = try Self.connect(t, server.url(), start: false)
        t.sync {
            c.value.start()
            try? c.value.send(RedisCommand("PING"), completion: r.value.record)
            c.value.close()
        }
        usleep(200_000)
        #expect(t.sync { r.value.results } == [.failure(.closed)])
        #expect(t.sync { r.value.states } == [.connecting, .down])
        #expect(t.sync { c.value.counters.reconnects } == 0)
    }

    /// A caller that retries every failed command must not spin: the retry waits for the next
    /// attempt. (A wrong password fails the waiting command once per attempt.)
    @Test func retryFromAFailedCompletionWaitsForTheNextAttempt() throws {
        let server = try RedisServer(arguments: ["--requirepass", "right"])
        let t = try RedisTestLoop(engine: .epoll)
        defer { t.stop() }
        let (c, r) = try Self.connect(t, server.url(userInfo: ":wrong@"), start: false)
        t.sync {
            let conn = c.value, rec = r.value
            func retrying(_ result: Result<RedisReply, RedisError>) {
                rec.results.append(result)
                try? conn.send(RedisCommand("PING"), completion: retrying)
            }
            try? conn.send(RedisCommand("PING"), completion: retrying)
            conn.start()
        }
        #expect(t.wait { r.value.results.count >= 2 })
        #expect(t.sync { c.value.queuedCommands } == 1)
        t.sync { c.value.close() }
    }
}
