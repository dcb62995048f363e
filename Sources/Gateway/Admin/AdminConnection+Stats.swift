internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayIO
internal import GatewayJSON

extension AdminConnection {
    private func collect(_ done: @escaping ([LoopReport]) -> Void) {
        server.context.hub.loopReports(from: server.context.loop, done: done)
    }

    /// `GET /v1/stats`: this node's figures; in a cluster, the whole cluster's (DESIGN §8), with
    /// this node's loops and every node's own figures beside them.
    func stats() {
        collect { [self] reports in
            let ctx = server.context
            let uptime = Int((ctx.loop.now &- server.startedAt) / 1_000_000_000)
            let cluster = ctx.hub.cluster as? ClusterNode
            let mine = NodeStats(reports: reports, id: cluster?.node, engine: "\(server.engine)", uptimeSeconds: uptime,
                                 draining: ctx.draining)
            guard let cluster else { return respond(200, body: statsBody(total: mine, reports: reports), contentType: "application/json") }
            cluster.ask(.stats) { [self] answers, missing in
                var total = mine
                var nodes = [mine]
                for (id, payload) in answers.sorted(by: { $0.key < $1.key }) {
                    guard let s = NodeStats(json: payload), s.id == id else { continue }
                    total.add(s)
                    nodes.append(s)
                }
                respond(200, body: statsBody(total: total, reports: reports, nodes: nodes, missing: missing), contentType: "application/json")
            }
        }
    }

    /// The `/v1/stats` body: `total`'s figures, this node's loops and, in a cluster, the nodes.
    private func statsBody(total: NodeStats, reports: [LoopReport], nodes: [NodeStats]? = nil, missing: [String] = []) -> [UInt8] {
        var b = ByteBuffer(capacity: 1024)
        b.write(string: "{\"version\":\"\(GatewayVersion.current)\",\"engine\":\"\(server.engine)\",\"uptimeSeconds\":\(total.uptimeSeconds)")
        b.write(string: ",\"draining\":\(server.context.draining)")
        total.writeFigures(into: &b)
        b.write(string: ",\"loops\":[")
        for (i, r) in reports.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"index\":\(r.snapshot.index),\"connections\":\(r.snapshot.openConnections),\"websockets\":\(r.snapshot.websockets),\"backendInFlight\":\(r.snapshot.backendInFlight)}")
        }
        b.write(byte: UInt8(ascii: "]"))
        if let nodes {
            b.write(string: ",\"node\":")
            JSONWriter.writeString(nodes.first?.id ?? "", into: &b)
            b.write(string: ",\"nodes\":[")
            for (i, n) in nodes.enumerated() {
                if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                n.writeNodeEntry(into: &b)
            }
            b.write(string: "],\"missing\":")
            AdminJSON.writeStrings(missing, into: &b)
        }
        b.write(byte: UInt8(ascii: "}"))
        return b.readableArray
    }

    func metrics() {
        collect { [self] reports in
            var text = PrometheusText.render(reports: reports, labels: server.context.runtime.routeLabels,
                                             memoryTrims: server.context.hub.admission.trims)
            text += PrometheusText.renderUpstreams(UpstreamSnapshot.merge(reports.map(\.snapshot.upstreams)))
            // Loop 0 (this one) owns the cluster's state: read it here.
            if let link = server.context.hub.cluster as? ClusterNode {
                text += PrometheusText.renderCluster(link.status(connections: reports.reduce(0) { $0 + $1.snapshot.websockets }))
            }
            respond(200, body: Array(text.utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}

/// The Prometheus text exposition format (version 0.0.4).
enum PrometheusText {
    static func render(reports: [LoopReport], labels: [(module: String, route: String)], memoryTrims: Int = 0) -> String {
        var total = GatewayMetrics(routes: labels.count)
        for r in reports { total.add(r.snapshot.metrics) }
        // The gauges and byte counts, summed over the loops as /v1/stats sums them.
        let sums = NodeStats(reports: reports, id: nil, engine: "", uptimeSeconds: 0, draining: false)
        let open = sums.open, ws = sums.websockets, inflight = sums.backendInFlight, hooks = sums.hooksPending
        let queued = sums.bytesQueued, bytesIn = sums.bytesReceived, bytesOut = sums.bytesSent
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for l in lines { out += l + "\n" }
        }
        metric("gateway_connections", "gauge", "Open client connections (HTTP and WebSocket).", ["gateway_connections \(open)"])
        metric("gateway_websocket_connections", "gauge", "Open WebSocket connections.", ["gateway_websocket_connections \(ws)"])
        metric("gateway_connections_accepted_total", "counter", "Connections accepted on the public listener.", ["gateway_connections_accepted_total \(total.connectionsAccepted)"])
        metric("gateway_connections_refused_total", "counter", "Connections refused by maxConnections or maxConnectionsPerIP.", ["gateway_connections_refused_total \(total.connectionsRefused)"])
        metric("gateway_messages_rate_limited_total", "counter", "Messages answered with rate_limited.", ["gateway_messages_rate_limited_total \(total.rateLimited)"])
        metric("gateway_websockets_opened_total", "counter", "WebSocket handshakes completed.", ["gateway_websockets_opened_total \(total.websocketsOpened)"])
        metric("gateway_websocket_handshakes_total", "counter", "WebSocket handshakes by the status that ended them (101 accepted, or the refusal).",
               total.handshakeStatuses.keys.sorted().map { "gateway_websocket_handshakes_total{status=\"\($0)\"} \(total.handshakeStatuses[$0] ?? 0)" })
        metric("gateway_websocket_closes_total", "counter", "WebSocket sessions ended, by close code (3xxx/4xxx: application ranges; 1006: dropped without a close frame).",
               total.closeCodes.keys.sorted().map { "gateway_websocket_closes_total{code=\"\($0)\"} \(total.closeCodes[$0] ?? 0)" })
        metric("gateway_messages_received_total", "counter", "WebSocket messages received from clients.", ["gateway_messages_received_total \(total.messagesReceived)"])
        metric("gateway_messages_sent_total", "counter", "WebSocket data frames sent to clients.", ["gateway_messages_sent_total \(total.messagesSent)"])
        metric("gateway_fanout_deliveries_total", "counter", "Push frames written by fan-out, one per recipient.", ["gateway_fanout_deliveries_total \(total.fanoutDeliveries)"])
        metric("gateway_bytes_received_total", "counter", "Bytes received from client connections.", ["gateway_bytes_received_total \(bytesIn)"])
        metric("gateway_bytes_sent_total", "counter", "Bytes written to client connections.", ["gateway_bytes_sent_total \(bytesOut)"])
        metric("gateway_send_queue_bytes", "gauge", "Bytes queued for client connections.", ["gateway_send_queue_bytes \(queued)"])
        metric("gateway_memory_trims_total", "counter", "Times freed memory was handed back to the kernel after connections fell to a quarter of a peak of at least 1,024.", ["gateway_memory_trims_total \(memoryTrims)"])
        metric("gateway_deflate_messages_total", "counter", "Messages compressed with permessage-deflate; a fan-out frame counts once.", ["gateway_deflate_messages_total \(total.deflateMessages)"])
        metric("gateway_deflate_bytes_in_total", "counter", "Bytes of the messages given to the compressor.", ["gateway_deflate_bytes_in_total \(total.deflateBytesIn)"])
        metric("gateway_deflate_bytes_out_total", "counter", "Bytes sent for them (compressed, or plain when not smaller).", ["gateway_deflate_bytes_out_total \(total.deflateBytesOut)"])
        metric("gateway_slow_consumers_closed_total", "counter", "Connections closed with 1008 because their send queue was full.", ["gateway_slow_consumers_closed_total \(total.slowConsumersClosed)"])
        metric("gateway_http_commands_total", "counter", "POST <module path> requests.", ["gateway_http_commands_total \(total.httpCommands)"])
        let tls = reports.reduce(into: (full: UInt64(0), resumed: UInt64(0), failed: UInt64(0))) { t, r in
            t.full += r.snapshot.tlsHandshakes - r.snapshot.tlsResumed
            t.resumed += r.snapshot.tlsResumed
            t.failed += r.snapshot.tlsFailed
        }
        metric("gateway_tls_handshakes_total", "counter", "TLS handshakes on the public and admin listeners: full, resumed from a ticket, failed.", [
            "gateway_tls_handshakes_total{result=\"full\"} \(tls.full)",
            "gateway_tls_handshakes_total{result=\"resumed\"} \(tls.resumed)",
            "gateway_tls_handshakes_total{result=\"failed\"} \(tls.failed)",
        ])
        metric("gateway_backend_in_flight", "gauge", "Backend calls in flight.", ["gateway_backend_in_flight \(inflight)"])
        var client = BackendClientCounters()
        for r in reports { client.add(r.snapshot.backendClient) }
        metric("gateway_backend_client_calls_total", "counter", "Backend calls by the HTTP client that carried them: the gateway's own (native) or libcurl.", [
            "gateway_backend_client_calls_total{client=\"native\"} \(client.nativeCalls)",
            "gateway_backend_client_calls_total{client=\"curl\"} \(client.curlCalls)",
        ])
        metric("gateway_backend_dns_queries_total", "counter", "DNS queries for backend host names, by result.", [
            "gateway_backend_dns_queries_total{result=\"answered\"} \(client.dnsAnswered)",
            "gateway_backend_dns_queries_total{result=\"failed\"} \(client.dnsFailed)",
        ])
        metric("gateway_backend_connect_failovers_total", "counter", "Calls moved to another address of their backend's host name after a refused connect.", [
            "gateway_backend_connect_failovers_total \(client.connectFailovers)",
        ])
        var calls: [String] = []
        var hist: [String] = []
        for (i, l) in labels.enumerated() {
            let lab = "module=\"\(escape(l.module))\",route=\"\(escape(l.route))\""
            for o in GatewayMetrics.Outcome.allCases where total.backendCalls[i][o.rawValue] > 0 {
                calls.append("gateway_backend_requests_total{\(lab),outcome=\"\(o.label)\"} \(total.backendCalls[i][o.rawValue])")
            }
            let buckets = total.backendLatencyBuckets[i]
            let count = buckets.reduce(0, +)
            guard count > 0 else { continue }
            var cumulative = 0
            for (b, bound) in GatewayMetrics.latencyBounds.enumerated() {
                cumulative += buckets[b]
                hist.append("gateway_backend_request_duration_seconds_bucket{\(lab),le=\"\(bound)\"} \(cumulative)")
            }
            hist.append("gateway_backend_request_duration_seconds_bucket{\(lab),le=\"+Inf\"} \(count)")
            hist.append("gateway_backend_request_duration_seconds_sum{\(lab)} \(total.backendLatencySum[i])")
            hist.append("gateway_backend_request_duration_seconds_count{\(lab)} \(count)")
        }
        metric("gateway_backend_requests_total", "counter", "Backend calls by route and outcome.", calls)
        metric("gateway_backend_request_duration_seconds", "histogram", "Backend call latency by route.", hist)
        metric("gateway_hooks_pending", "gauge", "Lifecycle hooks not yet delivered.", ["gateway_hooks_pending \(hooks)"])
        metric("gateway_hooks_total", "counter", "Lifecycle hook attempts by outcome.", [
            "gateway_hooks_total{outcome=\"delivered\"} \(total.hooksDelivered)",
            "gateway_hooks_total{outcome=\"failed_attempt\"} \(total.hookFailures)",
            "gateway_hooks_total{outcome=\"dropped\"} \(total.hooksDropped)",
        ])
        return out
    }

    static func escape(_ s: String) -> String {
        var o = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.unicodeScalars.append(c)
            }
        }
        return o
    }
}
