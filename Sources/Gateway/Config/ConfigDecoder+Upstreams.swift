internal import GatewayJSON
internal import GatewayHTTP1
internal import GatewayBackend

/// `upstreams` (DESIGN §10): named groups of endpoints, and the `upstream` + `path` form of routes
/// and hooks that call them.
extension ConfigDecoder {
    /// `upstreams`: each group by name, sorted by name (their order numbers the metrics and the
    /// admin API's list). Also records the names for routes and hooks.
    mutating func decodeUpstreams(_ v: JSONValue, _ p: String) -> [UpstreamSettings] {
        guard let o = object(v, p, allowed: v.objectValue?.keys ?? []) else { return [] }
        var out: [UpstreamSettings] = []
        for name in o.keys.sorted() {
            guard let value = o[name] else { continue }
            let up = Self.child(p, name)
            guard Self.isValidUpstreamName(name) else {
                fail(up, "an upstream name must be 1–64 letters, digits, - or _")
                continue
            }
            if let s = decodeUpstream(value, up, name: name) { out.append(s) }
        }
        for (i, s) in out.enumerated() { upstreamIndex[s.name] = (i, s.retry != nil, s.endpoints) }
        return out
    }

    static func isValidUpstreamName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }

    mutating func decodeUpstream(_ v: JSONValue, _ p: String, name: String) -> UpstreamSettings? {
        let keys = ["endpoints", "balance", "healthCheck", "retry", "circuitBreaker", "outlierDetection"]
        guard let o = object(v, p, allowed: keys) else { return nil }
        var endpoints: [String] = []
        if let e = o["endpoints"] {
            if let list = stringArray(e, "\(p).endpoints") {
                for (i, s) in list.enumerated() {
                    let ep = "\(p).endpoints[\(i)]"
                    guard HTTPURL.isValid(s) else {
                        fail(ep, "not an absolute http(s) URL: \"\(s)\"")
                        continue
                    }
                    if s.contains("?") || s.contains("#") {
                        fail(ep, "an endpoint is a base URL without query or fragment: \"\(s)\"")
                        continue
                    }
                    if let j = endpoints.firstIndex(of: s) {
                        fail(ep, "duplicate endpoint \"\(s)\" (also \(p).endpoints[\(j)])")
                        continue
                    }
                    endpoints.append(s)
                }
                if e.arrayValue?.isEmpty == true { fail("\(p).endpoints", "must list at least one endpoint") }
                if list.count > UpstreamSettings.maxEndpoints {
                    fail("\(p).endpoints", "at most \(UpstreamSettings.maxEndpoints) endpoints (got \(list.count))")
                }
            }
        } else {
            fail("\(p).endpoints", "required (an array of base URLs like \"http://users-1:9000\")")
        }
        var s = UpstreamSettings(name: name, endpoints: endpoints)
        if let b = o["balance"], let text = string(b, "\(p).balance") {
            if let k = UpstreamBalance(rawValue: text) { s.balance = k }
            else { fail("\(p).balance", "must be round-robin or least-inflight, got \"\(text)\"") }
        }
        if let h = o["healthCheck"] { s.healthCheck = decodeHealthCheck(h, "\(p).healthCheck") }
        if let r = o["retry"] { s.retry = decodeRetry(r, "\(p).retry") }
        if let c = o["circuitBreaker"] { s.circuitBreaker = decodeCircuitBreaker(c, "\(p).circuitBreaker") }
        if let x = o["outlierDetection"] {
            if x.boolValue == false {
                s.outlierDetection = nil
            } else {
                s.outlierDetection = decodeOutlierDetection(x, "\(p).outlierDetection")
            }
        }
        guard !endpoints.isEmpty, endpoints.count <= UpstreamSettings.maxEndpoints else { return nil }
        return s
    }

    mutating func decodeHealthCheck(_ v: JSONValue, _ p: String) -> HealthCheckSettings? {
        guard let o = object(v, p, allowed: ["path", "intervalMs", "timeoutMs", "unhealthyAfter", "healthyAfter"]) else { return nil }
        var h = HealthCheckSettings()
        if let x = o["path"], let s = string(x, "\(p).path") {
            if Self.isRequestPath(s) { h.path = s } else { fail("\(p).path", "must start with / and contain no space or fragment: \"\(s)\"") }
        }
        if let x = o["intervalMs"], let n = int(x, "\(p).intervalMs", min: 100, max: 3_600_000) { h.intervalMs = n }
        if let x = o["timeoutMs"], let n = int(x, "\(p).timeoutMs", min: 1, max: 600_000) { h.timeoutMs = n }
        if let x = o["unhealthyAfter"], let n = int(x, "\(p).unhealthyAfter", min: 1, max: 100) { h.unhealthyAfter = n }
        if let x = o["healthyAfter"], let n = int(x, "\(p).healthyAfter", min: 1, max: 100) { h.healthyAfter = n }
        if h.timeoutMs > h.intervalMs {
            // Otherwise checks pile up behind a hanging one and the verdict lags ever further.
            fail("\(p).timeoutMs", "must not exceed intervalMs (\(h.intervalMs))")
        }
        return h
    }

    mutating func decodeRetry(_ v: JSONValue, _ p: String) -> RetrySettings? {
        guard let o = object(v, p, allowed: ["attempts", "on", "backoffMs", "maxBackoffMs", "budgetPercent", "perTryTimeoutMs"]) else { return nil }
        var r = RetrySettings()
        if let x = o["attempts"], let n = int(x, "\(p).attempts", min: 1, max: 10) { r.attempts = n }
        if let x = o["on"], let list = stringArray(x, "\(p).on") {
            var on = Set<RetryCondition>()
            for (i, item) in list.enumerated() {
                if let c = RetryCondition(parsing: item) { on.insert(c) }
                else { fail("\(p).on[\(i)]", "must be connect-failure, timeout, 5xx or a status code like \"503\", got \"\(item)\"") }
            }
            if x.arrayValue?.isEmpty == true { fail("\(p).on", "must name at least one condition (or leave retry out)") }
            r.on = on
        }
        if let x = o["backoffMs"], let n = int(x, "\(p).backoffMs", min: 0, max: 60_000) { r.backoffMs = n }
        if let x = o["maxBackoffMs"], let n = int(x, "\(p).maxBackoffMs", min: 0, max: 600_000) { r.maxBackoffMs = n }
        if let x = o["budgetPercent"], let n = int(x, "\(p).budgetPercent", min: 0, max: 100) { r.budgetPercent = n }
        if let x = o["perTryTimeoutMs"], let n = int(x, "\(p).perTryTimeoutMs", min: 1, max: 3_600_000) { r.perTryTimeoutMs = n }
        if r.maxBackoffMs < r.backoffMs { fail("\(p).maxBackoffMs", "must be at least backoffMs (\(r.backoffMs))") }
        return r
    }

    mutating func decodeCircuitBreaker(_ v: JSONValue, _ p: String) -> CircuitBreakerSettings? {
        guard let o = object(v, p, allowed: ["failureRatio", "minRequests", "windowMs", "openMs", "halfOpenProbes"]) else { return nil }
        var c = CircuitBreakerSettings()
        if let x = o["failureRatio"] {
            if let d = x.doubleValue, d > 0, d <= 1 { c.failureRatio = d }
            else { fail("\(p).failureRatio", "must be a number above 0 and at most 1") }
        }
        if let x = o["minRequests"], let n = int(x, "\(p).minRequests", min: 1, max: 1_000_000) { c.minRequests = n }
        if let x = o["windowMs"], let n = int(x, "\(p).windowMs", min: 100, max: 3_600_000) { c.windowMs = n }
        if let x = o["openMs"], let n = int(x, "\(p).openMs", min: 1, max: 3_600_000) { c.openMs = n }
        if let x = o["halfOpenProbes"], let n = int(x, "\(p).halfOpenProbes", min: 1, max: 1000) { c.halfOpenProbes = n }
        return c
    }

    mutating func decodeOutlierDetection(_ v: JSONValue, _ p: String) -> OutlierDetectionSettings? {
        guard let o = object(v, p, allowed: ["consecutiveFailures", "baseEjectionMs", "maxEjectionPercent"]) else { return nil }
        var d = OutlierDetectionSettings()
        if let x = o["consecutiveFailures"], let n = int(x, "\(p).consecutiveFailures", min: 1, max: 10_000) { d.consecutiveFailures = n }
        if let x = o["baseEjectionMs"], let n = int(x, "\(p).baseEjectionMs", min: 1, max: 3_600_000) { d.baseEjectionMs = n }
        if let x = o["maxEjectionPercent"], let n = int(x, "\(p).maxEjectionPercent", min: 0, max: 100) { d.maxEjectionPercent = n }
        return d
    }

    /// The `upstream` (+ `path`) of a route or hook object: the target, or nil with the problem
    /// recorded.
    mutating func upstreamTarget(_ o: JSONObject, _ p: String, idempotent: Bool = false) -> UpstreamTarget? {
        guard let u = o["upstream"], let name = string(u, "\(p).upstream") else { return nil }
        var path = "/"
        if let x = o["path"], let s = string(x, "\(p).path") {
            if Self.isRequestPath(s) { path = s } else { fail("\(p).path", "must start with / and contain no space or fragment: \"\(s)\"") }
        }
        guard let known = upstreamIndex[name] else {
            let names = upstreamIndex.keys.sorted()
            fail("\(p).upstream", "unknown upstream \"\(name)\"" + (names.isEmpty ? " (no upstreams are defined)" : " (defined: \(names.joined(separator: ", ")))"))
            return nil
        }
        var paths = upstreamPaths[name] ?? []
        let pathIndex = paths.firstIndex(of: path) ?? paths.count
        if pathIndex == paths.count { paths.append(path) }
        upstreamPaths[name] = paths
        return UpstreamTarget(name: name, index: known.index, path: path, idempotent: idempotent, retries: known.retries,
                              pathIndex: pathIndex)
    }

    /// A hook: a URL string, or `{"upstream": "auth", "path": "/connect"}`.
    mutating func decodeHookTarget(_ v: JSONValue, _ p: String) -> BackendTarget? {
        if v.stringValue != nil { return url(v, p).map { .url($0) } }
        guard let o = object(v, p, allowed: ["upstream", "path"]) else { return nil }
        if o["upstream"] == nil {
            fail("\(p).upstream", "required (or give the hook as a URL string)")
            return nil
        }
        return upstreamTarget(o, p).map { .upstream($0) }
    }

    /// A path to append to an endpoint: `/…`, no space, no fragment (a query is allowed).
    static func isRequestPath(_ s: String) -> Bool {
        s.hasPrefix("/") && !s.contains(" ") && !s.contains("#")
    }
}
