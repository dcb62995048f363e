import GatewayIO
import GatewayRedis
import GatewayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Killing redis-server and starting it again on the same port, on every available engine.
@Suite("Redis reconnect", .serialized, .enabled(if: RedisServer.binary != nil, "redis-server is not installed (apt-get install -y redis-server)"))
struct RedisReconnectTests {
    @Test(arguments: availableEngines())
    func survivesARedisRestart(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (cmd, cr) = try RedisSubscriberTests.open(t, server.url(), role: .commands)
        let (sub, sr) = try RedisSubscriberTests.open(t, server.url(), role: .subscriber)
        t.sync {
            try? sub.value.subscribe(["events"])
            try? sub.value.psubscribe(["user:*"])
        }
        #expect(t.wait { sr.value.confirmations.count == 2 && cmd.value.state == .up })

        // Two commands in flight when Redis dies: BLPOP blocks on the server, and INCR waits behind it.
        t.sync {
            try? cmd.value.send(RedisCommand("BLPOP", "nothing", "0"), completion: cr.value.record)
            try? cmd.value.send(RedisCommand("INCR", "n"), completion: cr.value.record)
        }
        #expect(t.wait { cmd.value.inflightCommands == 2 })
        usleep(50_000)  // let Redis read both
        server.kill()
        #expect(t.wait { cr.value.results.count == 2 })
        #expect(t.sync { cr.value.results } == [.failure(.connectionLost), .failure(.connectionLost)])
        #expect(t.wait { sub.value.state != .up })

        // Commands sent while Redis is down wait, then go out in order after the reconnect.
        t.sync {
            try? cmd.value.send(RedisCommand("SET", "after", "restart"), completion: cr.value.record)
            try? cmd.value.send(RedisCommand("GET", "after"), completion: cr.value.record)
        }
        #expect(t.sync { cmd.value.queuedCommands } == 2)
        #expect(t.sync { cmd.value.lastError } != nil)
        usleep(300_000)  // a few failed attempts (connection refused) while down
        try server.start()
        let restarted = monotonicNanos()
        #expect(t.wait { cr.value.results.count == 4 })
        #expect(t.sync { Array(cr.value.results.suffix(2)) } == [.success(.status("OK")), .success(.bulk(Array("restart".utf8)))])
        #expect(t.sync { cmd.value.state } == .up)
        #expect(t.sync { cmd.value.counters.reconnects } >= 1)

        // The subscriber came back by itself, with both subscriptions.
        #expect(t.wait { sr.value.confirmations.count == 4 })
        let healMillis = (monotonicNanos() - restarted) / 1_000_000
        #expect(healMillis < 2_000, "subscriptions back \(healMillis) ms after the restart")
        #expect(t.sync { Set(sr.value.confirmations.suffix(2).map(\.name)) } == ["events", "user:*"])
        t.sync {
            try? cmd.value.send(RedisCommand("PUBLISH", "events", "e1"), completion: cr.value.record)
            try? cmd.value.send(RedisCommand("PUBLISH", "user:7", "u7"), completion: cr.value.record)
        }
        #expect(t.wait { sr.value.messages.count == 2 })
        #expect(t.sync { sr.value.messages.map(\.payload) } == [Array("e1".utf8), Array("u7".utf8)])
        #expect(t.sync { sr.value.states.filter { $0 == .up }.count } == 2)
        t.sync { cmd.value.close(); sub.value.close() }
    }

    /// A delegate that holds the queue gets the connection up with its queue kept: `sendAhead`
    /// writes past it, later commands queue behind it, and `releaseQueue` sends them all in order.
    @Test(arguments: availableEngines())
    func holdsTheQueueUntilReleased(engine: IOEngineKind) throws {
        let server = try RedisServer()
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (c, r) = try RedisConnectionTests.connect(t, server.url(), start: false)
        t.sync {
            r.value.holdQueue = true
            try? c.value.send(RedisCommand("SET", "k", "1"), completion: r.value.record)
            c.value.start()
        }
        #expect(t.wait { c.value.state == .up })
        #expect(t.sync { c.value.isHoldingQueue && c.value.queuedCommands == 1 })
        t.sync {
            try? c.value.send(RedisCommand("INCR", "k"), completion: r.value.record)
            try? c.value.sendAhead(RedisCommand("GET", "k"), completion: r.value.record)
        }
        #expect(t.wait { r.value.results.count == 1 })
        #expect(t.sync { r.value.results } == [.success(.bulk(nil))], "ahead of the queue: nothing was set yet")
        #expect(t.sync { c.value.queuedCommands } == 2)
        t.sync {
            c.value.releaseQueue()
            try? c.value.send(RedisCommand("GET", "k"), completion: r.value.record)
        }
        #expect(t.wait { r.value.results.count == 4 })
        #expect(t.sync { Array(r.value.results.dropFirst()) } ==
                [.success(.status("OK")), .success(.integer(2)), .success(.bulk(Array("2".utf8)))])
        #expect(t.sync { !c.value.isHoldingQueue && c.value.queuedCommands == 0 })
        // Not up: nothing goes ahead (and nothing is kept for later).
        server.kill()
        #expect(t.wait { c.value.state != .up })
        let refused = t.sync { () -> Bool in
            do throws(RedisError) {
                try c.value.sendAhead(RedisCommand("PING"))
                return false
            } catch {
                return true
            }
        }
        #expect(refused)
        #expect(t.sync { c.value.queuedCommands } == 0)
        t.sync { c.value.close() }
    }
}
