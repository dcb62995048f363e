internal import GatewayJSON
internal import GatewayIO
internal import GatewayBackend
#if canImport(Glibc)
internal import Glibc
#endif

extension ConfigDecoder {
    mutating func decodeRoot(_ root: JSONValue) -> GatewayConfig? {
        // `$schema` names the JSON Schema for editors (docs/gateway.schema.json); the loader ignores it.
        guard let o = object(root, "", allowed: ["$schema", "listen", "io", "admin", "limits", "modules", "http", "cluster", "tls", "upstreams"]) else { return nil }
        if let s = o["$schema"], s.stringValue == nil { fail("$schema", "expected a string (the schema's URL or path)") }
        var listen: SocketAddress?
        if let v = o["listen"] { listen = address(v, "listen") } else { fail("listen", "required") }
        var io = GatewayConfig.IOSettings()
        if let v = o["io"], let io1 = object(v, "io", allowed: ["engine", "loops", "backendClient", "backendTLS", "dns"]) {
            if let t = io1["backendTLS"] { io.backendTLS = decodeBackendTLS(t, "io.backendTLS") }
            if let d = io1["dns"] { io.dns = decodeDNS(d, "io.dns") }
            if let b = io1["backendClient"], let s = string(b, "io.backendClient") {
                if let k = GatewayConfig.BackendClientKind(rawValue: s) { io.backendClient = k }
                else { fail("io.backendClient", "must be auto or curl, got \"\(s)\"") }
            }
            if let e = io1["engine"], let s = string(e, "io.engine") {
                if let k = IOEngineKind(parsing: s) { io.engine = k } else { fail("io.engine", "must be auto, io_uring or epoll, got \"\(s)\"") }
            }
            if let l = io1["loops"], let n = int(l, "io.loops", min: 0, max: 256) { io.loops = n }
        }
        var admin: GatewayConfig.AdminSettings?
        if let v = o["admin"], let a = object(v, "admin", allowed: ["listen", "token", "tls"]) {
            let l = a["listen"].flatMap { address($0, "admin.listen") }
            let t = a["token"].flatMap { string($0, "admin.token") }
            if a["listen"] == nil { fail("admin.listen", "required") }
            if a["token"] == nil { fail("admin.token", "required") }
            if let t, t.utf8.count < 16 { fail("admin.token", "must be at least 16 characters") }
            if let l, let t { admin = .init(listen: l, token: t, tls: a["tls"].flatMap { decodeTLS($0, "admin.tls") }) }
        }
        let limits = o["limits"].map { decodeLimits($0, "limits") } ?? Limits()
        // Before the modules: their routes and hooks name upstreams.
        let upstreams = o["upstreams"].map { decodeUpstreams($0, "upstreams") } ?? []
        var modules: [ModuleConfig] = []
        if let v = o["modules"] {
            if let arr = v.arrayValue {
                var seen: [String: Int] = [:]
                for (i, m) in arr.enumerated() {
                    let p = "modules[\(i)]"
                    guard let mod = decodeModule(m, p) else { continue }
                    if let j = seen[mod.path] { fail("\(p).path", "duplicate path \"\(mod.path)\" (also modules[\(j)].path)") }
                    seen[mod.path] = i
                    modules.append(mod)
                }
            } else {
                fail("modules", "expected an array")
            }
        } else {
            fail("modules", "required (an array of modules)")
        }
        var http: [HTTPProxyRoute] = []
        if let v = o["http"] {
            if let arr = v.arrayValue {
                for (i, r) in arr.enumerated() {
                    if let route = decodeProxyRoute(r, "http[\(i)]") {
                        if modules.contains(where: { route.prefix.hasPrefix($0.path) && $0.path.count == route.prefix.count }) {
                            fail("http[\(i)].prefix", "\"\(route.prefix)\" is also a module path")
                        }
                        http.append(route)
                    }
                }
            } else {
                fail("http", "expected an array")
            }
        }
        if let listen, let admin, listen == admin.listen {
            fail("admin.listen", "must differ from listen (\(listen))")
        }
        let cluster = o["cluster"].flatMap { decodeCluster($0, "cluster") }
        let tls = o["tls"].flatMap { decodeTLS($0, "tls") }
        guard let listen else { return nil }
        return GatewayConfig(listen: listen, io: io, admin: admin, limits: limits, modules: modules, http: http, cluster: cluster, tls: tls,
                             upstreams: upstreams)
    }

    /// `io.backendTLS`: `caFile`, `cert`, `key` (all optional, but `cert` and `key` go together), each
    /// a readable file.
    mutating func decodeBackendTLS(_ v: JSONValue, _ p: String) -> BackendTLS? {
        guard let o = object(v, p, allowed: ["caFile", "cert", "key"]) else { return nil }
        var out = BackendTLS()
        out.caFile = o["caFile"].flatMap { readableFile($0, "\(p).caFile") }
        out.certificate = o["cert"].flatMap { readableFile($0, "\(p).cert") }
        out.key = o["key"].flatMap { readableFile($0, "\(p).key") }
        if (o["cert"] == nil) != (o["key"] == nil) { fail(p, "cert and key go together (a client certificate needs its key)") }
        return out
    }

    /// A string naming a file the gateway can read, or nil (with the error recorded).
    mutating func readableFile(_ v: JSONValue, _ p: String) -> String? {
        guard let f = string(v, p) else { return nil }
        if f.isEmpty {
            fail(p, "must not be empty")
            return nil
        }
        if access(f, R_OK) != 0 {
            fail(p, "cannot read \"\(f)\": \(String(cString: strerror(errno)))")
            return nil
        }
        return f
    }

    /// `tls` and `admin.tls` (DESIGN §9): `cert` and `key` are required and must be readable files
    /// (checked here so `check-config` catches a wrong path; their contents are checked at start).
    mutating func decodeTLS(_ v: JSONValue, _ p: String) -> GatewayConfig.TLSSettings? {
        guard let o = object(v, p, allowed: ["cert", "key", "minVersion"]) else { return nil }
        var files: [String] = []
        for k in ["cert", "key"] {
            guard let x = o[k] else {
                fail("\(p).\(k)", "required (a PEM file)")
                continue
            }
            if let f = readableFile(x, "\(p).\(k)") { files.append(f) }
        }
        var version = TLSVersion.tls12
        if let m = o["minVersion"], let s = string(m, "\(p).minVersion") {
            if let parsed = TLSVersion(rawValue: s) {
                version = parsed
            } else {
                fail("\(p).minVersion", "must be \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are never offered), got \"\(s)\"")
            }
        }
        guard files.count == 2 else { return nil }
        return GatewayConfig.TLSSettings(certificate: files[0], key: files[1], minVersion: version)
    }

    /// `cluster` (DESIGN §8): `redis` is one URL or a non-empty array of them.
    mutating func decodeCluster(_ v: JSONValue, _ p: String) -> ClusterSettings? {
        guard let o = object(v, p, allowed: ["redis", "node", "prefix", "nodeTimeoutSeconds"]) else { return nil }
        var redis: [String] = []
        switch o["redis"] {
        case nil:
            fail("\(p).redis", "required (a redis:// URL, or an array of them to shard over)")
        case let r? where r.arrayValue != nil:
            let urls = stringArray(r, "\(p).redis") ?? []
            if urls.isEmpty, r.arrayValue?.isEmpty == true { fail("\(p).redis", "must name at least one Redis") }
            for (i, u) in urls.enumerated() where redisURL(u, "\(p).redis[\(i)]") { redis.append(u) }
            if Set(urls).count != urls.count { fail("\(p).redis", "lists the same Redis twice") }
        case let r?:
            if let u = string(r, "\(p).redis"), redisURL(u, "\(p).redis") { redis.append(u) }
        }
        var settings = ClusterSettings(redis: redis)
        if let n = o["node"], let node = string(n, "\(p).node"), !node.isEmpty {
            if ClusterSettings.isValidName(node) {
                settings.node = node
            } else {
                fail("\(p).node", "must be 1–\(ClusterSettings.maxNameBytes) letters, digits, - or _, got \"\(node)\"")
            }
        }
        if let x = o["prefix"], let prefix = string(x, "\(p).prefix") {
            if ClusterSettings.isValidName(prefix) {
                settings.prefix = prefix
            } else {
                fail("\(p).prefix", "must be 1–\(ClusterSettings.maxNameBytes) letters, digits, - or _, got \"\(prefix)\"")
            }
        }
        if let t = o["nodeTimeoutSeconds"], let n = int(t, "\(p).nodeTimeoutSeconds", min: 2, max: 3600) {
            settings.nodeTimeoutSeconds = n
        }
        return redis.isEmpty ? nil : settings
    }

    mutating func decodeLimits(_ v: JSONValue, _ path: String) -> Limits {
        var l = Limits()
        let keys: [(String, WritableKeyPath<Limits, Int>, Int, Int)] = [
            ("maxMessageBytes", \.maxMessageBytes, 1, 1 << 30),
            ("sendQueueBytes", \.sendQueueBytes, 1024, 1 << 31),
            ("idleTimeoutSeconds", \.idleTimeoutSeconds, 1, 86_400),
            ("pingIntervalSeconds", \.pingIntervalSeconds, 1, 86_400),
            ("backendTimeoutMs", \.backendTimeoutMs, 1, 3_600_000),
            ("handshakeTimeoutSeconds", \.handshakeTimeoutSeconds, 1, 3_600),
            ("maxHeaderBytes", \.maxHeaderBytes, 1024, 1 << 20),
            ("maxRequestBodyBytes", \.maxRequestBodyBytes, 0, 1 << 30),
            ("maxInflightPerConnection", \.maxInflightPerConnection, 1, 65_536),
            ("maxBackendResponseBytes", \.maxBackendResponseBytes, 1, 1 << 30),
            ("drainTimeoutSeconds", \.drainTimeoutSeconds, 0, 3_600),
            ("closeTimeoutSeconds", \.closeTimeoutSeconds, 1, 600),
            ("maxProxyBodyBytes", \.maxProxyBodyBytes, 0, 1 << 40),
            ("maxConnections", \.maxConnections, 0, 10_000_000),
            ("maxConnectionsPerIP", \.maxConnectionsPerIP, 0, 10_000_000),
            ("messagesPerSecond", \.messagesPerSecond, 0, 100_000_000),
            ("messageBurst", \.messageBurst, 1, 100_000_000),
            ("maxBackendConnectionsPerHost", \.maxBackendConnectionsPerHost, 0, 100_000),
            ("backendPipelineDepth", \.backendPipelineDepth, 1, 1024),
        ]
        guard let o = object(v, path, allowed: keys.map(\.0)) else { return l }
        for (name, kp, lo, hi) in keys {
            if let x = o[name], let n = int(x, Self.child(path, name), min: lo, max: hi) { l[keyPath: kp] = n }
        }
        if l.pingIntervalSeconds >= l.idleTimeoutSeconds {
            // Otherwise the idle close always comes first and even clients that answer pings are dropped.
            fail(Self.child(path, "pingIntervalSeconds"), "must be less than idleTimeoutSeconds (\(l.idleTimeoutSeconds)), or no ping is sent before the idle close")
        }
        return l
    }

    mutating func decodeModule(_ v: JSONValue, _ p: String) -> ModuleConfig? {
        let allowed = ["path", "parser", "handshake", "disconnect", "routes", "default", "command", "origins",
                       "subprotocols", "forwardHeaders", "hookTimeoutMs", "auth", "compression"]
        guard let o = object(v, p, allowed: allowed) else { return nil }
        var path: String?
        if let x = o["path"], let s = string(x, "\(p).path") {
            if s.hasPrefix("/") && !s.contains("?") && !s.contains("#") && !s.contains(" ") { path = s }
            else { fail("\(p).path", "must start with / and contain no query, fragment or space: \"\(s)\"") }
        } else if o["path"] == nil {
            fail("\(p).path", "required")
        }
        var parser = ParserKind.json
        if let x = o["parser"], let s = string(x, "\(p).parser") {
            if let k = ParserKind(rawValue: s) { parser = k } else { fail("\(p).parser", "must be json, text or raw, got \"\(s)\"") }
        }
        let handshake = o["handshake"].flatMap { decodeHookTarget($0, "\(p).handshake") }
        let disconnect = o["disconnect"].flatMap { decodeHookTarget($0, "\(p).disconnect") }
        var routes: [String: Route] = [:]
        if let x = o["routes"] {
            if let ro = object(x, "\(p).routes", allowed: x.objectValue?.keys ?? []) {
                for (cmd, rv) in ro {
                    let rp = Self.child("\(p).routes", cmd)
                    if cmd.isEmpty { fail(rp, "empty command"); continue }
                    if cmd.contains("*") && !(cmd.hasSuffix(".*") && cmd.dropLast(2).firstIndex(of: "*") == nil) && cmd != "*" {
                        fail(rp, "a wildcard must be a whole last segment, like \"user.*\"")
                        continue
                    }
                    if let r = decodeRoute(rv, rp) { routes[cmd] = r }
                }
            }
        }
        let def = o["default"].flatMap { decodeRoute($0, "\(p).default") }
        let command = o["command"].flatMap { string($0, "\(p).command") } ?? "message"
        let origins = o["origins"].flatMap { stringArray($0, "\(p).origins") }
        let subprotocols = o["subprotocols"].flatMap { stringArray($0, "\(p).subprotocols") } ?? []
        let forward = o["forwardHeaders"].flatMap { stringArray($0, "\(p).forwardHeaders") } ?? []
        for (i, h) in forward.enumerated() where h.lowercased().hasPrefix("gateway-") {
            fail("\(p).forwardHeaders[\(i)]", "Gateway-* headers are set by the gateway and never forwarded from clients")
        }
        let hookTimeout = o["hookTimeoutMs"].flatMap { int($0, "\(p).hookTimeoutMs", min: 1, max: 3_600_000) }
        if (o["routes"]?.objectValue?.isEmpty ?? true) && o["default"] == nil {
            // Every message would be unknown_command: certainly a mistake, so say so.
            fail(p, "needs \"routes\" or a \"default\" route")
        }
        let jwt = o["auth"].flatMap { decodeAuth($0, "\(p).auth") }
        let compression = o["compression"].map { decodeCompression($0, "\(p).compression") } ?? CompressionSettings()
        guard let path else { return nil }
        return ModuleConfig(
            path: path, parser: parser, handshake: handshake, disconnect: disconnect, routes: routes,
            defaultRoute: def, command: command, origins: origins, subprotocols: subprotocols,
            forwardHeaders: forward, hookTimeoutMs: hookTimeout, jwt: jwt, compression: compression)
    }

    /// `modules[].compression` (DESIGN §9): permessage-deflate.
    mutating func decodeCompression(_ v: JSONValue, _ p: String) -> CompressionSettings {
        var c = CompressionSettings()
        guard let o = object(v, p, allowed: ["enabled", "contextTakeover", "minBytes", "level", "maxWindowBits"]) else { return c }
        if let x = o["enabled"], let b = bool(x, "\(p).enabled") { c.enabled = b }
        if let x = o["contextTakeover"], let b = bool(x, "\(p).contextTakeover") { c.contextTakeover = b }
        if let x = o["minBytes"], let n = int(x, "\(p).minBytes", min: 0, max: 1 << 30) { c.minBytes = n }
        if let x = o["level"], let n = int(x, "\(p).level", min: 1, max: 9) { c.level = n }
        // 8 is valid in RFC 7692 but zlib's raw deflate cannot compress with a 256-byte window.
        if let x = o["maxWindowBits"], let n = int(x, "\(p).maxWindowBits", min: 9, max: 15) { c.maxWindowBits = n }
        return c
    }

    /// `modules[].auth` (DESIGN §9): `jwt` and where the token comes from.
    mutating func decodeAuth(_ v: JSONValue, _ p: String) -> JWTSettings? {
        guard let o = object(v, p, allowed: ["jwt", "token"]) else { return nil }
        var sources = JWTSettings.defaultSources
        if let t = o["token"], let list = stringArray(t, "\(p).token") {
            sources = []
            for (i, item) in list.enumerated() {
                let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
                switch (parts.first, parts.count == 2 ? parts[1] : "") {
                case ("header", let name) where !name.isEmpty: sources.append(.header(name.lowercased()))
                case ("query", let name) where !name.isEmpty: sources.append(.query(name))
                default: fail("\(p).token[\(i)]", "must be \"header:<Name>\" or \"query:<name>\", got \"\(item)\"")
                }
            }
            if list.isEmpty { fail("\(p).token", "must name at least one place") }
        }
        guard let jv = o["jwt"] else {
            fail("\(p).jwt", "required")
            return nil
        }
        let jp = "\(p).jwt"
        guard let j = object(jv, jp, allowed: ["algorithms", "secret", "publicKeys", "issuer", "audience", "leewaySeconds"]) else { return nil }
        var algorithms: [JWTSettings.Algorithm] = []
        if let a = j["algorithms"], let names = stringArray(a, "\(jp).algorithms") {
            for (i, n) in names.enumerated() {
                if let alg = JWTSettings.Algorithm(rawValue: n) {
                    algorithms.append(alg)
                } else {
                    let known = JWTSettings.Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
                    fail("\(jp).algorithms[\(i)]", "unknown algorithm \"\(n)\" (use \(known))")
                }
            }
            if names.isEmpty { fail("\(jp).algorithms", "must name at least one algorithm") }
        } else if j["algorithms"] == nil {
            fail("\(jp).algorithms", "required (e.g. [\"HS256\"]): the token never chooses how it is checked")
        }
        let hmac = algorithms.contains { $0.isHMAC }, keyed = algorithms.contains { !$0.isHMAC }
        var publicKeys: [JWTPublicKey] = []
        if let x = j["publicKeys"], let path = string(x, "\(jp).publicKeys") {
            if let pem = GatewayConfig.readFile(path) {
                publicKeys = JWTPublicKey.load(pem: pem)
                if publicKeys.isEmpty { fail("\(jp).publicKeys", "no public key (-----BEGIN PUBLIC KEY-----) in \(path)") }
            } else {
                fail("\(jp).publicKeys", "cannot read \(path)")
            }
        } else if keyed && j["publicKeys"] == nil {
            fail("\(jp).publicKeys", "required for RS256/RS384/RS512/ES256/ES384 (a PEM file of public keys)")
        }
        var secret: [UInt8] = []
        if let x = j["secret"], let sv = string(x, "\(jp).secret") {
            secret = Array(sv.utf8)
            // RFC 7518 §3.2: a key at least as long as the hash; shorter secrets are guessable offline.
            if secret.count < 32 { fail("\(jp).secret", "must be at least 32 bytes (got \(secret.count))") }
        } else if hmac && j["secret"] == nil {
            fail("\(jp).secret", "required for HS256/HS384/HS512")
        }
        let issuer = j["issuer"].flatMap { string($0, "\(jp).issuer") }
        let audience = j["audience"].flatMap { string($0, "\(jp).audience") }
        let leeway = j["leewaySeconds"].flatMap { int($0, "\(jp).leewaySeconds", min: 0, max: 300) } ?? 30
        guard !algorithms.isEmpty, !hmac || secret.count >= 32, !keyed || !publicKeys.isEmpty else { return nil }
        var settings = JWTSettings(algorithms: algorithms, secret: secret, issuer: issuer, audience: audience,
                                   leewaySeconds: leeway, sources: sources)
        settings.publicKeys = publicKeys
        return settings
    }

    mutating func decodeRoute(_ v: JSONValue, _ p: String) -> Route? {
        if v.stringValue != nil {
            guard let u = url(v, p) else { return nil }
            return Route(target: .url(u))
        }
        let keys = ["url", "local", "upstream", "path", "idempotent", "deliver", "method", "timeoutMs", "forwardHeaders", "protocol"]
        guard let o = object(v, p, allowed: keys) else { return nil }
        var target: Route.Target?
        let idempotent = o["idempotent"].flatMap { bool($0, "\(p).idempotent") } ?? false
        let given = ["url", "local", "upstream"].filter { o[$0] != nil }
        if o["path"] != nil && o["upstream"] == nil { fail("\(p).path", "only with \"upstream\" (a url carries its own path)") }
        switch given {
        case ["url"]:
            if let u = o["url"], let s = url(u, "\(p).url") { target = .url(s) }
        case ["local"]:
            if let l = o["local"], let s = string(l, "\(p).local") {
                if let h = Route.LocalHandler(rawValue: s) { target = .local(h) }
                else { fail("\(p).local", "unknown local handler \"\(s)\" (known: \(Route.LocalHandler.allCases.map(\.rawValue).joined(separator: ", ")))") }
            }
        case ["upstream"]:
            if let t = upstreamTarget(o, p, idempotent: idempotent) { target = .upstream(t) }
        case []:
            fail(p, "needs \"url\", \"local\" or \"upstream\"")
        default:
            let quoted = given.map { "\"\($0)\"" }
            fail(p, "has \(quoted.count == 2 ? "both " : "")\(quoted.dropLast().joined(separator: ", ")) and \(quoted.last ?? ""); choose one")
        }
        var route = Route(target: target ?? .local(.echo))
        route.idempotent = idempotent
        if let d = o["deliver"], let s = string(d, "\(p).deliver") {
            switch s {
            case "sender": route.deliver = .sender
            case "all": route.deliver = .all
            case "others": route.deliver = .others
            case "room": route.deliver = .senderRooms
            case "none": route.deliver = .none
            default:
                if s.hasPrefix("room:") && s.count > 5 { route.deliver = .room(String(s.dropFirst(5))) }
                else { fail("\(p).deliver", "must be sender, all, others, room, room:<name> or none, got \"\(s)\"") }
            }
        }
        if let m = o["method"], let s = string(m, "\(p).method") {
            let upper = s.uppercased()
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(upper) { route.method = upper }
            else { fail("\(p).method", "must be GET, POST, PUT, PATCH or DELETE, got \"\(s)\"") }
        }
        if let t = o["timeoutMs"] { route.timeoutMs = int(t, "\(p).timeoutMs", min: 1, max: 3_600_000) }
        if let f = o["forwardHeaders"], let list = stringArray(f, "\(p).forwardHeaders") {
            for (i, h) in list.enumerated() where h.lowercased().hasPrefix("gateway-") {
                fail("\(p).forwardHeaders[\(i)]", "Gateway-* headers are set by the gateway and never forwarded from clients")
            }
            route.forwardHeaders = list.map { $0.lowercased() }
        }
        if let x = o["protocol"] {
            switch target {
            case .url(let u)?: route.httpProtocol = backendProtocol(x, "\(p).protocol", urls: [u]) ?? .http1
            case .upstream(let t)?:
                // Every endpoint of the group must suit it (h2 needs https://, h2c http://).
                route.httpProtocol = backendProtocol(x, "\(p).protocol", urls: upstreamIndex[t.name]?.endpoints ?? []) ?? .http1
            case .local?: fail("\(p).protocol", "applies to url routes only (a local handler makes no backend call)")
            case nil: _ = backendProtocol(x, "\(p).protocol", urls: [])
            }
        }
        if target == nil { return nil }
        return route
    }

    mutating func decodeProxyRoute(_ v: JSONValue, _ p: String) -> HTTPProxyRoute? {
        guard let o = object(v, p, allowed: ["prefix", "url", "timeoutMs", "protocol"]) else { return nil }
        var prefix: String?
        if let x = o["prefix"], let s = string(x, "\(p).prefix") {
            if s.hasPrefix("/") { prefix = s } else { fail("\(p).prefix", "must start with /") }
        } else if o["prefix"] == nil { fail("\(p).prefix", "required") }
        var target: String?
        if let x = o["url"] { target = url(x, "\(p).url") } else { fail("\(p).url", "required") }
        let timeout = o["timeoutMs"].flatMap { int($0, "\(p).timeoutMs", min: 1, max: 3_600_000) }
        let proto = o["protocol"].flatMap { backendProtocol($0, "\(p).protocol", urls: target.map { [$0] } ?? []) }
        guard let prefix, let target else { return nil }
        return HTTPProxyRoute(prefix: prefix, url: target, timeoutMs: timeout, httpProtocol: proto ?? .http1)
    }
}
