internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayJSON

extension AdminConnection {
    /// `GET /v1/upstreams`: every upstream group and its endpoints, gathered from every loop: the
    /// active health (per gateway), how many loops have the endpoint ejected or its breaker in
    /// each state (per loop), and the loops' in-flight, call, error and latency figures added up.
    func listUpstreams() {
        server.context.hub.loopReports(from: server.context.loop) { [self] reports in
            let merged = UpstreamSnapshot.merge(reports.map(\.snapshot.upstreams))
            var b = ByteBuffer(capacity: 1024)
            b.write(string: "{\"upstreams\":[")
            for (i, u) in merged.enumerated() {
                if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                u.writeJSON(into: &b, loops: reports.count)
            }
            b.write(string: "]}")
            respond(200, body: b.readableArray, contentType: "application/json")
        }
    }
}

extension UpstreamSnapshot {
    /// The loops' snapshots added up per upstream (by name, in the first loop's order).
    static func merge(_ perLoop: [[UpstreamSnapshot]]) -> [UpstreamSnapshot] {
        var out: [UpstreamSnapshot] = []
        for loop in perLoop {
            for u in loop {
                if let i = out.firstIndex(where: { $0.name == u.name }) { out[i].add(u) } else { out.append(u) }
            }
        }
        return out
    }

    /// `{"name","balance","retries","fastFails","retriesDenied","endpoints":[…]}` (see the OpenAPI
    /// document's `Upstream`).
    func writeJSON(into b: inout ByteBuffer, loops: Int) {
        b.write(string: "{\"name\":")
        JSONWriter.writeString(name, into: &b)
        b.write(string: ",\"balance\":\"\(balance.rawValue)\",\"retries\":\(retries),\"fastFails\":\(fastFails),\"retriesDenied\":\(retriesDenied),\"endpoints\":[")
        for (i, e) in endpoints.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(string: "{\"url\":")
            JSONWriter.writeString(e.url, into: &b)
            b.write(string: ",\"healthy\":\(e.healthy),\"ejected\":\(e.ejectedLoops > 0),\"ejectedLoops\":\(e.ejectedLoops)")
            b.write(string: ",\"breaker\":")
            if let state = e.breaker { b.write(string: "\"\(state.rawValue)\"") } else { b.write(string: "null") }
            b.write(string: ",\"breakerLoops\":{")
            for (k, state) in CircuitBreaker.State.allCases.enumerated() {
                if k > 0 { b.write(byte: UInt8(ascii: ",")) }
                b.write(string: "\"\(state.rawValue)\":\(e.breakerLoops[k])")
            }
            b.write(string: "},\"inFlight\":\(e.inFlight),\"calls\":\(e.calls),\"errors\":\(e.failures)")
            b.write(string: ",\"latencyMs\":{\"mean\":\(Self.ms(e.meanMs)),\"p50\":\(Self.ms(e.quantileMs(0.5))),\"p99\":\(Self.ms(e.quantileMs(0.99)))}}")
        }
        b.write(string: "],\"loops\":\(loops)}")
    }

    /// Milliseconds with three decimals (microsecond resolution), as a JSON number.
    static func ms(_ x: Double) -> String {
        let micros = Int((x * 1000).rounded())
        let frac = micros % 1000
        let pad = frac < 10 ? "00" : (frac < 100 ? "0" : "")
        return "\(micros / 1000).\(pad)\(frac)"
    }
}

extension PrometheusText {
    /// Per upstream and endpoint: health, breaker state and ejection (loops in each), in-flight,
    /// tries by outcome; per upstream: retries, fast fails and retries the budget refused.
    static func renderUpstreams(_ merged: [UpstreamSnapshot]) -> String {
        guard !merged.isEmpty else { return "" }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for l in lines { out += l + "\n" }
        }
        var healthy: [String] = [], breaker: [String] = [], ejected: [String] = [], inflight: [String] = [], tries: [String] = []
        var retries: [String] = [], fast: [String] = [], denied: [String] = []
        for u in merged {
            let ul = "upstream=\"\(escape(u.name))\""
            retries.append("gateway_upstream_retries_total{\(ul)} \(u.retries)")
            fast.append("gateway_upstream_fast_fails_total{\(ul)} \(u.fastFails)")
            denied.append("gateway_upstream_retries_denied_total{\(ul)} \(u.retriesDenied)")
            for e in u.endpoints {
                let l = "\(ul),endpoint=\"\(escape(e.url))\""
                healthy.append("gateway_upstream_endpoint_healthy{\(l)} \(e.healthy ? 1 : 0)")
                ejected.append("gateway_upstream_endpoint_ejected{\(l)} \(e.ejectedLoops)")
                inflight.append("gateway_upstream_endpoint_in_flight{\(l)} \(e.inFlight)")
                tries.append("gateway_upstream_endpoint_requests_total{\(l),outcome=\"ok\"} \(e.calls - e.failures)")
                tries.append("gateway_upstream_endpoint_requests_total{\(l),outcome=\"failed\"} \(e.failures)")
                if e.breaker != nil {
                    for (k, state) in CircuitBreaker.State.allCases.enumerated() {
                        breaker.append("gateway_upstream_breaker_state{\(l),state=\"\(state.rawValue)\"} \(e.breakerLoops[k])")
                    }
                }
            }
        }
        metric("gateway_upstream_endpoint_healthy", "gauge", "1 while the endpoint passes its active health checks (or has none).", healthy)
        metric("gateway_upstream_breaker_state", "gauge", "Loops whose circuit breaker for the endpoint is in each state.", breaker)
        metric("gateway_upstream_endpoint_ejected", "gauge", "Loops that have the endpoint ejected (passive outlier detection).", ejected)
        metric("gateway_upstream_endpoint_in_flight", "gauge", "Tries in flight to the endpoint.", inflight)
        metric("gateway_upstream_endpoint_requests_total", "counter", "Tries sent to the endpoint, by outcome (failed: connect failure, reset, timeout, 5xx).", tries)
        metric("gateway_upstream_retries_total", "counter", "Retries started.", retries)
        metric("gateway_upstream_fast_fails_total", "counter", "Calls answered backend_unavailable at once: no endpoint admitted them (circuit open).", fast)
        metric("gateway_upstream_retries_denied_total", "counter", "Retries the retry budget refused.", denied)
        return out
    }
}
