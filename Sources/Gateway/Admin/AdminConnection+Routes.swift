internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON
internal import GatewayWebSocket

extension AdminConnection {
    /// Routes one request.
    func handle(_ h: HTTPRequestHead) {
        let path = String(h.path)
        let method = h.method
        if path == "/healthz" {
            return method == .GET || method == .HEAD ? respond(200, json: "{\"status\":\"ok\"}") : fail(405, "use GET", allow: "GET, HEAD")
        }
        if path == "/readyz" {
            guard method == .GET || method == .HEAD else { return fail(405, "use GET", allow: "GET, HEAD") }
            return server.context.draining ? respond(503, json: "{\"status\":\"draining\"}") : respond(200, json: "{\"status\":\"ready\"}")
        }
        if path == "/dashboard.js" || path == "/dashboard.css" {
            guard method == .GET || method == .HEAD else { return fail(405, "use GET", allow: "GET, HEAD") }
            var headers = HTTPHeaders()
            headers.add(name: "Cache-Control", value: "no-cache")
            let js = path.hasSuffix(".js")
            return respond(200, body: js ? DashboardPage.script : DashboardPage.style,
                           contentType: js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8", headers: headers)
        }
        if path == "/dashboard" || path == "/dashboard/" {
            // The page holds no data: it asks for the token and reads /v1/stream with it.
            guard method == .GET || method == .HEAD else { return fail(405, "use GET", allow: "GET, HEAD") }
            var headers = HTTPHeaders()
            headers.add(name: "Cache-Control", value: "no-cache")
            headers.add(name: "Content-Security-Policy", value: DashboardPage.contentSecurityPolicy)
            headers.add(name: "X-Frame-Options", value: "DENY")
            headers.add(name: "Referrer-Policy", value: "no-referrer")
            return respond(200, body: DashboardPage.html, contentType: "text/html; charset=utf-8", headers: headers)
        }
        guard server.authorized(h.headers["authorization"]) else {
            return fail(401, "missing or invalid bearer token")
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (method, segments.count, segments.first) {
        case (.GET, 1, "metrics"), (.HEAD, 1, "metrics"):
            metrics()
        case (_, 1, "metrics"):
            fail(405, "use GET", allow: "GET, HEAD")
        case (.POST, 2, "v1") where segments[1] == "publish":
            publish()
        case (.GET, 2, "v1") where segments[1] == "stats", (.HEAD, 2, "v1") where segments[1] == "stats":
            stats()
        case (.GET, 2, "v1") where segments[1] == "cluster", (.HEAD, 2, "v1") where segments[1] == "cluster":
            cluster()
        case (.GET, 2, "v1") where segments[1] == "stream":
            stream(query: AdminQuery(String(h.query)))
        case (.GET, 2, "v1") where segments[1] == "upstreams", (.HEAD, 2, "v1") where segments[1] == "upstreams":
            listUpstreams()
        case (.GET, 2, "v1") where segments[1] == "connections", (.HEAD, 2, "v1") where segments[1] == "connections":
            listConnections(query: AdminQuery(String(h.query)))
        case (.GET, 3, "v1") where segments[1] == "connections", (.HEAD, 3, "v1") where segments[1] == "connections":
            showConnection(segments[2])
        case (.POST, 4, "v1") where segments[1] == "connections" && segments[3] == "close":
            closeConnection(segments[2])
        case (.POST, 4, "v1") where segments[1] == "connections" && segments[3] == "rooms":
            changeRooms(segments[2])
        case (_, 2, "v1") where segments[1] == "publish",
             (_, 4, "v1") where segments[1] == "connections" && ["close", "rooms"].contains(segments[3]):
            fail(405, "method \(method) not allowed on \(path)", allow: "POST")
        case (_, 2, "v1") where segments[1] == "stream":
            fail(405, "method \(method) not allowed on \(path)", allow: "GET")
        case (_, 2, "v1") where ["stats", "connections", "cluster", "upstreams"].contains(segments[1]),
             (_, 3, "v1") where segments[1] == "connections":
            fail(405, "method \(method) not allowed on \(path)", allow: "GET, HEAD")
        default:
            fail(404, "no such endpoint: \(path)")
        }
    }

    /// Parses the request body as a JSON object, or answers 400 and returns nil.
    func jsonBody(allowEmpty: Bool, allowed: [String]) -> JSONObject? {
        if body.isEmpty && allowEmpty { return JSONObject() }
        let parsed: Result<JSONValue, JSONError> = body.withUnsafeReadableBytes { raw in
            Result { () throws(JSONError) in try JSONValue.parse(raw, rejectDuplicateKeys: true) }
        }
        switch parsed {
        case .failure(let e):
            fail(400, "invalid JSON body: \(e)")
            return nil
        case .success(let v):
            guard let o = v.objectValue else {
                fail(400, "the body must be a JSON object")
                return nil
            }
            for k in o.keys where !allowed.contains(k) {
                fail(400, "unknown field \"\(k)\" (allowed: \(allowed.joined(separator: ", ")))")
                return nil
            }
            return o
        }
    }

    func stringList(_ v: JSONValue?, _ name: String) -> [String]?? {
        guard let v else { return .some(nil) }
        guard let a = v.arrayValue else { fail(400, "\"\(name)\" must be an array of strings"); return nil }
        var out: [String] = []
        for e in a {
            guard let s = e.stringValue else { fail(400, "\"\(name)\" must be an array of strings"); return nil }
            out.append(s)
        }
        return .some(out)
    }

    // MARK: Publish

    private func publish() {
        guard let o = jsonBody(allowEmpty: false, allowed: ["to", "except", "cmd", "data"]) else { return }
        guard let cmd = o["cmd"]?.stringValue, !cmd.isEmpty else { return fail(400, "\"cmd\" is required (a non-empty string)") }
        guard let to = o["to"]?.objectValue else {
            return fail(400, "\"to\" is required: {\"all\":true}, {\"room\":\"r\"}, {\"user\":\"u\"} or {\"connections\":[\"id\"]}")
        }
        guard to.count == 1, let (key, value) = to.members.first.map({ ($0.key, $0.value) }) else {
            return fail(400, "\"to\" must have exactly one of all, room, user, connections")
        }
        let target: DeliveryTarget
        switch key {
        case "all":
            guard value.boolValue == true else { return fail(400, "\"to.all\" must be true") }
            target = .all
        case "room":
            guard let r = value.stringValue, !r.isEmpty else { return fail(400, "\"to.room\" must be a non-empty string") }
            target = .room(r)
        case "user":
            guard let u = value.stringValue, !u.isEmpty else { return fail(400, "\"to.user\" must be a non-empty string") }
            target = .user(u)
        case "connections":
            guard case .some(.some(let ids)) = stringList(value, "to.connections") else { return }
            guard !ids.isEmpty else { return fail(400, "\"to.connections\" must not be empty") }
            target = .connections(ids.compactMap { ConnectionKey(parsing: $0) })
        default:
            return fail(400, "unknown target \"\(key)\" in \"to\" (use all, room, user or connections)")
        }
        guard case .some(let except) = stringList(o["except"], "except") else { return }
        var data = ByteBuffer()
        if let d = o["data"] { JSONWriter.write(d, into: &data) }
        let ctx = server.context
        let excluded = (except ?? []).compactMap { ConnectionKey(parsing: $0) }
        let inCluster = ctx.hub.cluster != nil
        data.withUnsafeReadableBytes { raw in
            ctx.hub.push(target, except: excluded, command: cmd, data: raw, dataIsJSON: true, binary: false, from: ctx) { [self] n in
                // In a cluster the other nodes deliver on their own: the count is this node's (DESIGN §8).
                respond(200, json: inCluster ? "{\"delivered\":\(n),\"cluster\":true}" : "{\"delivered\":\(n)}")
            }
        }
    }

    // MARK: Connections

    /// `GET /v1/connections`: this node's sessions; in a cluster, every node's (DESIGN §8), each
    /// other node listing at most `ClusterNode.maxListed` (`count` stays whole; `truncated` says a
    /// list was cut), and `missing` naming the nodes that did not answer in time.
    /// `node` (cluster mode) lists that node's only: this node's without asking anyone.
    private func listConnections(query: AdminQuery) {
        let room = query["room"], user = query["user"], node = query["node"]
        let ctx = server.context
        ctx.hub.connectionInfos(room: room, user: user, from: ctx.loop) { [self] local in
            guard let cluster = ctx.hub.cluster as? ClusterNode else {
                return respondList(ConnectionList(local, limit: local.count), truncated: false, missing: nil)
            }
            if node == cluster.node { return respondList(ConnectionList(local, limit: local.count), truncated: false, missing: []) }
            cluster.ask(.connections(room: room, user: user), only: node) { [self] answers, missing in
                var all = node == nil ? ConnectionList(local, limit: local.count) : ConnectionList([], limit: 0)
                var truncated = false
                for (_, payload) in answers {
                    guard let list = ConnectionList(decoding: payload) else { continue }
                    all.total += list.total
                    all.entries += list.entries
                    truncated = truncated || list.entries.count < list.total
                }
                all.entries.sort { $0.id < $1.id }
                respondList(all, truncated: truncated, missing: missing)
            }
        }
    }

    private func respondList(_ list: ConnectionList, truncated: Bool, missing: [String]?) {
        var b = ByteBuffer(capacity: 64 + list.entries.count * 200)
        b.write(string: "{\"count\":")
        b.write(decimal: list.total)
        b.write(string: ",\"connections\":[")
        for (i, e) in list.entries.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            b.write(contentsOf: e.json)
        }
        b.write(byte: UInt8(ascii: "]"))
        if let missing {
            b.write(string: ",\"truncated\":\(truncated),\"missing\":")
            AdminJSON.writeStrings(missing, into: &b)
        }
        b.write(byte: UInt8(ascii: "}"))
        respond(200, body: b.readableArray, contentType: "application/json")
    }

    /// In a cluster, an operation on a connection of another node goes to that node (found through
    /// the session records in Redis); answers with `answer(record)`, or 404 when the node has no such
    /// session. Returns false, doing nothing, for a connection of this node.
    private func forwardIfRemote(
        _ id: String, _ operation: ClusterControl.Operation, answer: @escaping (PresenceRecord) -> String
    ) -> Bool {
        guard let cluster = server.context.hub.cluster, let key = ConnectionKey(parsing: id), !key.isLocal else { return false }
        cluster.forward(ClusterControl(key: key, operation: operation)) { [self] record in
            if let record { respond(200, json: answer(record)) } else { fail(404, "no connection \(id)") }
        }
        return true
    }

    /// Runs `body` on the loop that owns connection `id`; answers 404 when there is no such connection.
    private func withConnection(_ id: String, _ body: @escaping @Sendable (WebSocketConnection) -> String) {
        let ctx = server.context
        guard let key = ConnectionKey(parsing: id), Int(key.loop) < ctx.hub.loopCount else {
            return fail(404, "no connection \(id)")
        }
        let loopIndex = Int(key.loop)
        let origin = ctx.loop
        let me = SendableBox(self)
        ctx.hub.onLoop(loopIndex) { owner in
            let answer: String? = owner.sessions.byID[key]?.connection.map(body)
            origin.execute {
                if let answer { me.value.respond(200, json: answer) } else { me.value.fail(404, "no connection \(id)") }
            }
        }
    }

    /// `GET /v1/connections/{id}`: in a cluster, a connection of another node is asked of that node
    /// (503 when it does not answer in time).
    private func showConnection(_ id: String) {
        if let cluster = server.context.hub.cluster as? ClusterNode, let key = ConnectionKey(parsing: id), !key.isLocal {
            cluster.ask(.connection(id)) { [self] answers, missing in
                if let json = answers.values.first, !json.isEmpty {
                    respond(200, body: json, contentType: "application/json")
                } else if let node = missing.first {
                    fail(503, "node \(node) did not answer in time")
                } else {
                    fail(404, "no connection \(id)")
                }
            }
            return
        }
        withConnection(id) { c in
            var b = ByteBuffer()
            c.info().write(into: &b)
            return b.description
        }
    }

    private func closeConnection(_ id: String) {
        guard let o = jsonBody(allowEmpty: true, allowed: ["code", "reason"]) else { return }
        var code = WebSocketCloseCode.normalClosure
        if let c = o["code"] {
            guard let n = c.intValue, n == 1000 || (3000...4999).contains(n) else {
                return fail(400, "\"code\" must be 1000 or between 3000 and 4999")
            }
            code = WebSocketCloseCode(rawValue: UInt16(n))
        }
        var reason = ""
        if let r = o["reason"] {
            guard let s = r.stringValue else { return fail(400, "\"reason\" must be a string") }
            guard s.utf8.count <= 123 else { return fail(400, "\"reason\" must be at most 123 bytes of UTF-8") }
            reason = s
        }
        if forwardIfRemote(id, .close(code: code.rawValue, reason: reason), answer: { _ in "{\"closed\":true}" }) { return }
        let box = SendableBox((code, reason))
        withConnection(id) { c in
            c.close(code: box.value.0, reason: box.value.1)
            return "{\"closed\":true}"
        }
    }

    private func changeRooms(_ id: String) {
        guard let o = jsonBody(allowEmpty: false, allowed: ["join", "leave"]) else { return }
        guard case .some(let join) = stringList(o["join"], "join"), case .some(let leave) = stringList(o["leave"], "leave") else { return }
        if (join ?? []).contains(where: \.isEmpty) || (leave ?? []).contains(where: \.isEmpty) {
            return fail(400, "room names must not be empty")
        }
        let joining = join ?? [], leaving = leave ?? []
        let forwarded = forwardIfRemote(id, .rooms(join: joining, leave: leaving)) { record in
            // The rooms the session will have once its node applied the change.
            var rooms = record.rooms
            for r in joining where !rooms.contains(r) { rooms.append(r) }
            rooms.removeAll { leaving.contains($0) }
            var b = ByteBuffer()
            b.write(string: "{\"rooms\":")
            AdminJSON.writeStrings(rooms, into: &b)
            b.write(byte: UInt8(ascii: "}"))
            return b.description
        }
        if forwarded { return }
        let box = SendableBox((joining, leaving))
        withConnection(id) { c in
            if let h = c.handle {
                c.context.sessions.join(h, box.value.0)
                c.context.sessions.leave(h, box.value.1)
            }
            var b = ByteBuffer()
            b.write(string: "{\"rooms\":")
            AdminJSON.writeStrings(c.handle?.rooms ?? [], into: &b)
            b.write(byte: UInt8(ascii: "}"))
            return b.description
        }
    }
}
