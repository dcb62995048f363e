import GatewayIO
import GatewayRedis
import GatewayTestSupport
import Testing

/// Subscriber connections against a real redis-server, on every available engine.
@Suite("Redis subscriber", .serialized, .enabled(if: RedisServer.binary != nil, "redis-server is not installed (apt-get install -y redis-server)"))
struct RedisSubscriberTests {
    typealias Pair = (SendableBox<RedisConnection>, SendableBox<RedisRecorder>)

    static func open(_ t: RedisTestLoop, _ url: String, role: RedisConnectionRole) throws -> Pair {
        let u = try RedisURL(parsing: url)
        return t.sync { () -> Pair in
            let c = RedisConnection(url: u, loop: t.loop, role: role)
            let r = RedisRecorder()
            c.delegate = r
            c.start()
            return (SendableBox(c), SendableBox(r))
        }
    }

    @Test(arguments: availableEngines())
    func publishReachesSubscriberAcrossConnections(engine: IOEngineKind) throws {
        let server = try RedisServer(arguments: ["--requirepass", "pw"])
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (sub, sr) = try Self.open(t, server.url(userInfo: ":pw@", path: "/2"), role: .subscriber)
        let (pub, pr) = try Self.open(t, server.url(userInfo: ":pw@"), role: .commands)
        t.sync {
            try? sub.value.subscribe(["news", "sport"])
            try? sub.value.psubscribe(["room:*"])
        }
        #expect(t.wait { sr.value.confirmations.count == 3 })
        #expect(t.sync { sr.value.confirmations.map(\.kind) } == [.subscribe, .subscribe, .psubscribe])
        #expect(t.sync { sr.value.confirmations.last?.count } == 3)

        t.sync {
            try? pub.value.send(RedisCommand("PUBLISH", "news", "hello"), completion: pr.value.record)
            try? pub.value.send(RedisCommand(arguments: [Array("PUBLISH".utf8), Array("room:42".utf8), [0, 1, 255]]),
                                completion: pr.value.record)
            try? pub.value.send(RedisCommand("PUBLISH", "nobody", "x"), completion: pr.value.record)
        }
        #expect(t.wait { sr.value.messages.count == 2 && pr.value.results.count == 3 })
        #expect(t.sync { pr.value.results } == [.success(.integer(1)), .success(.integer(1)), .success(.integer(0))])
        let messages = t.sync { sr.value.messages }
        #expect(messages[0] == RedisPushMessage(channel: Array("news".utf8), payload: Array("hello".utf8)))
        #expect(messages[1] == RedisPushMessage(channel: Array("room:42".utf8), pattern: Array("room:*".utf8), payload: [0, 1, 255]))

        // Unsubscribing one channel: publishes there reach nobody, the others still arrive.
        t.sync { try? sub.value.unsubscribe(["news", "never-subscribed"]) }
        #expect(t.wait { sr.value.confirmations.count == 4 })
        #expect(t.sync { sr.value.confirmations.last } == RedisSubscriptionConfirmation(kind: .unsubscribe, name: "news", count: 2))
        t.sync {
            try? pub.value.send(RedisCommand("PUBLISH", "news", "late"), completion: pr.value.record)
            try? pub.value.send(RedisCommand("PUBLISH", "sport", "goal"), completion: pr.value.record)
        }
        #expect(t.wait { pr.value.results.count == 5 && sr.value.messages.count == 3 })
        #expect(t.sync { pr.value.results.suffix(2) } == [.success(.integer(0)), .success(.integer(1))])
        #expect(t.sync { sr.value.messages.last?.payload } == Array("goal".utf8))
        #expect(t.sync { sub.value.subscribedChannels } == ["sport"])
        #expect(t.sync { sub.value.counters.messages } == 3)

        // A subscriber refuses plain commands, a command connection refuses subscriptions.
        #expect(t.sync { () -> RedisError? in
            do throws(RedisError) { try sub.value.send(RedisCommand("PING")); return nil } catch { return error }
        } == .wrongRole)
        #expect(t.sync { () -> RedisError? in
            do throws(RedisError) { try pub.value.subscribe(["x"]); return nil } catch { return error }
        } == .wrongRole)
        t.sync { sub.value.close(); pub.value.close() }
    }

    /// Redis disconnects a pub/sub client whose output buffer passes its limit; a burst far larger
    /// than a low limit must arrive whole, without a reconnect, because the client reads at once.
    @Test(arguments: availableEngines())
    func burstDoesNotOverflowTheOutputBufferLimit(engine: IOEngineKind) throws {
        let server = try RedisServer(arguments: ["--client-output-buffer-limit", "pubsub 256kb 64kb 1"])
        let t = try RedisTestLoop(engine: engine)
        defer { t.stop() }
        let (sub, sr) = try Self.open(t, server.url(), role: .subscriber)
        let (pub, pr) = try Self.open(t, server.url(), role: .commands)
        t.sync { try? sub.value.subscribe(["burst"]) }
        #expect(t.wait { sr.value.confirmations.count == 1 })
        let payload = String(repeating: "p", count: 1_000)
        t.sync {
            for _ in 0..<2_000 { try? pub.value.send(RedisCommand("PUBLISH", "burst", payload), completion: pr.value.record) }
        }
        #expect(t.wait(seconds: 20) { sr.value.messages.count == 2_000 })
        #expect(t.sync { pr.value.results.allSatisfy { $0 == .success(.integer(1)) } })
        #expect(t.sync { sub.value.counters.reconnects } == 0)
        t.sync { sub.value.close(); pub.value.close() }
    }
}
