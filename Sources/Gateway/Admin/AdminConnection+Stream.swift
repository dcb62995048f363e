internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON

/// `GET /v1/stream`: server-sent events for the dashboard. One `data:` frame per interval with the
/// node's figures gathered from every loop (counters, not rates: the page takes differences, so a
/// missed frame loses nothing). The response has no length and ends when either side closes.
extension AdminConnection {
    /// Frames per second are bounded: an interval below 250 ms would make the gathering itself a
    /// load on the loops; one second is what the dashboard uses.
    static let streamMinIntervalMs = 250
    /// A dashboard that does not read its stream gets frames skipped rather than queued.
    static let streamMaxQueuedBytes = 1 << 20

    func stream(query: AdminQuery) {
        let interval = max(Self.streamMinIntervalMs, min(60_000, Int(query["intervalMs"] ?? "") ?? 1000))
        streaming = true
        // The head by hand: no Content-Length, no chunking; the body is the event stream until close.
        tcp.write { b in
            b.write(string: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n")
            b.write(string: "X-Accel-Buffering: no\r\n\r\n")
            b.write(string: "retry: 2000\n\n")
        }
        let loop = server.context.loop
        let timer = loop.makeTimer { [weak self] in self?.streamTick(intervalMs: interval) }
        streamTimer = timer
        streamTick(intervalMs: interval)
    }

    private func streamTick(intervalMs: Int) {
        guard streaming, let timer = streamTimer else { return }
        let ctx = server.context
        tcp.deadline = ctx.loop.now &+ UInt64(intervalMs + 30_000) * 1_000_000
        timer.schedule(afterNanos: UInt64(intervalMs) * 1_000_000)
        guard tcp.queuedBytes < Self.streamMaxQueuedBytes else { return }
        ctx.hub.gather(from: ctx.loop, { c -> StreamLoopReport in
            var modules: [String: Int] = [:]
            for h in c.sessions.sessions.elements {
                if let ws = h.connection { modules[ws.module.config.path, default: 0] += 1 }
            }
            return StreamLoopReport(snapshot: c.snapshot(), modules: modules)
        }) { [weak self] reports in
            guard let self, self.streaming else { return }
            let frame = self.streamFrame(reports)
            self.tcp.write { b in
                b.write(string: "data: ")
                b.write(contentsOf: frame)
                b.write(string: "\n\n")
            }
        }
    }

    /// Stops the stream (the connection closed).
    func endStream() {
        streaming = false
        streamTimer?.cancel()
        streamTimer = nil
    }

    /// One frame: see the dashboard's page (`DashboardPage`) for how it reads each field.
    private func streamFrame(_ reports: [StreamLoopReport]) -> [UInt8] {
        let ctx = server.context
        var total = GatewayMetrics(routes: ctx.runtime.routeLabels.count)
        var open = 0, websockets = 0, queued = 0, inflight = 0, hooks = 0
        var bytesIn: UInt64 = 0, bytesOut: UInt64 = 0
        var tls = (full: UInt64(0), resumed: UInt64(0), failed: UInt64(0))
        var modules: [String: Int] = [:]
        for m in ctx.runtime.config.modules { modules[m.path] = 0 }
        for r in reports {
            let s = r.snapshot
            total.add(s.metrics)
            open += s.openConnections
            websockets += s.websockets
            queued += s.queuedBytes
            inflight += s.backendInFlight
            hooks += s.hooksPending
            bytesIn &+= s.bytesReceived
            bytesOut &+= s.bytesSent
            tls.full += s.tlsHandshakes - s.tlsResumed
            tls.resumed += s.tlsResumed
            tls.failed += s.tlsFailed
            modules.merge(r.modules, uniquingKeysWith: +)
        }
        var b = ByteBuffer(capacity: 2048)
        b.write(string: "{\"t\":\(WallClock.ms()),\"uptimeSeconds\":\((ctx.loop.now &- server.startedAt) / 1_000_000_000)")
        b.write(string: ",\"version\":\"\(GatewayVersion.current)\",\"engine\":\"\(server.engine)\",\"draining\":\(ctx.draining)")
        b.write(string: ",\"connections\":\(open),\"websockets\":\(websockets),\"queuedBytes\":\(queued)")
        b.write(string: ",\"backendInFlight\":\(inflight),\"hooksPending\":\(hooks)")
        b.write(string: ",\"modules\":")
        writeCounts(modules, into: &b)
        b.write(string: ",\"loops\":[")
        for (i, r) in reports.enumerated() {
            let s = r.snapshot
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"index\":\(s.index),\"connections\":\(s.openConnections),\"websockets\":\(s.websockets),\"queuedBytes\":\(s.queuedBytes),\"backendInFlight\":\(s.backendInFlight)}")
        }
        b.write(string: "],\"counters\":{")
        let closed = total.closeCodes.values.reduce(0, +)
        let counters: [(String, UInt64)] = [
            ("accepted", UInt64(total.connectionsAccepted)), ("refused", UInt64(total.connectionsRefused)),
            ("opened", UInt64(total.websocketsOpened)), ("closed", UInt64(closed)),
            ("messagesIn", UInt64(total.messagesReceived)), ("messagesOut", UInt64(total.messagesSent)),
            ("fanout", UInt64(total.fanoutDeliveries)), ("rateLimited", UInt64(total.rateLimited)),
            ("slowConsumers", UInt64(total.slowConsumersClosed)), ("httpCommands", UInt64(total.httpCommands)),
            ("hooksDelivered", UInt64(total.hooksDelivered)), ("hookFailures", UInt64(total.hookFailures)),
            ("bytesIn", bytesIn), ("bytesOut", bytesOut),
            ("tlsFull", tls.full), ("tlsResumed", tls.resumed), ("tlsFailed", tls.failed),
        ]
        for (i, (k, v)) in counters.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "\"\(k)\":\(v)")
        }
        b.write(string: "},\"closeCodes\":")
        writeCounts(total.closeCodes, into: &b)
        b.write(string: ",\"handshakes\":")
        writeCounts(Dictionary(uniqueKeysWithValues: total.handshakeStatuses.map { (String($0.key), $0.value) }), into: &b)
        b.write(string: ",\"latencyBounds\":[\(GatewayMetrics.latencyBounds.map { "\($0)" }.joined(separator: ","))]")
        b.write(string: ",\"routes\":[")
        for (i, l) in ctx.runtime.routeLabels.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"module\":")
            JSONWriter.writeString(l.module, into: &b)
            b.write(string: ",\"route\":")
            JSONWriter.writeString(l.route, into: &b)
            b.write(string: ",\"outcomes\":{")
            for (k, o) in GatewayMetrics.Outcome.allCases.enumerated() {
                if k > 0 { b.write(byte: UInt8(ascii: ",")) }
                b.write(string: "\"\(o.label)\":\(i < total.backendCalls.count ? total.backendCalls[i][o.rawValue] : 0)")
            }
            b.write(string: "},\"buckets\":[")
            let buckets = i < total.backendLatencyBuckets.count ? total.backendLatencyBuckets[i] : []
            b.write(string: buckets.map(String.init).joined(separator: ","))
            b.write(string: "]}")
        }
        b.write(string: "],\"cluster\":")
        if let link = ctx.hub.cluster as? ClusterNode {
            b.write(contentsOf: link.status(connections: websockets).json())
        } else {
            b.write(string: "null")
        }
        b.write(byte: UInt8(ascii: "}"))
        return b.readableArray
    }

    private func writeCounts(_ counts: [String: Int], into b: inout ByteBuffer) {
        b.write(byte: UInt8(ascii: "{"))
        for (i, k) in counts.keys.sorted().enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(k, into: &b)
            b.write(string: ":\(counts[k] ?? 0)")
        }
        b.write(byte: UInt8(ascii: "}"))
    }
}

/// What each loop contributes to a stream frame.
struct StreamLoopReport: Sendable {
    var snapshot: LoopSnapshot
    /// WebSocket sessions by module path.
    var modules: [String: Int]
}
