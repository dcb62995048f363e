internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import GatewayJSON

/// The backend protocol (DESIGN §4) in one place: every request the gateway sends to a backend is
/// filled in here, from the route, the connection and the message.
extension BackendCallSpec {
    /// A WebSocket message's call: `POST <route url>` (or the route's method) with the message body
    /// and the gateway headers of the session.
    mutating func fillMessage(
        route: Route, command: String, seq: UInt64, key: ConnectionKey, user: String?, rooms: [String],
        forwardable: [ForwardableHeader], moduleForwardHeaders: [String], traceID: String?,
        body: UnsafeRawBufferPointer, contentType: String, limits: Limits, traceRNG: inout TraceIDGenerator
    ) {
        fillRoute(route: route, body: body, contentType: contentType, limits: limits)
        addGatewayHeaders(key: key, command: command, seq: seq)
        if let u = user { addHeader("Gateway-User", u) }
        if !rooms.isEmpty {
            addHeader("Gateway-Rooms") { b in
                for (i, room) in rooms.enumerated() {
                    if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                    for c in room.utf8 where c != 13 && c != 10 && c != 0 { b.write(byte: c) }
                }
            }
        }
        for f in forwardable where moduleForwardHeaders.contains(f.lower) || route.forwardHeaders.contains(f.lower) {
            addHeader(f.name, f.value)
        }
        addTraceparent(continuing: traceID, rng: &traceRNG)
    }

    /// A `POST <module path>` command's call, with the request's allowed headers forwarded.
    mutating func fillHTTPCommand(
        route: Route, module: ModuleRuntime, command: String, key: ConnectionKey, head: HTTPRequestHead,
        user: String?, body: UnsafeRawBufferPointer, limits: Limits, traceRNG: inout TraceIDGenerator
    ) {
        fillRoute(route: route, body: body, contentType: "application/json", limits: limits)
        addGatewayHeaders(key: key, command: command, seq: nil)
        addTraceparent(continuing: Traceparent.traceID(fromTraceparent: head.headers["traceparent"]), rng: &traceRNG)
        if let user { addHeader("Gateway-User", user) }
        let allowed = Set(module.forwardHeaders).union(route.forwardHeaders)
        for f in head.headers where allowed.contains(f.name.lowercased()) {
            addHeader(f.name, f.value)
        }
    }

    /// The module's handshake hook: `POST <handshake url>` with
    /// `{"connectionId","path","query","headers","remoteAddress","subprotocols"}`. It also authorizes
    /// `POST <module path>` commands (then with no subprotocols).
    mutating func fillHandshakeHook(
        target: BackendTarget, module: ModuleRuntime, key: ConnectionKey, head: HTTPRequestHead, subprotocols: [String],
        remoteAddress: String, limits: Limits, traceRNG: inout TraceIDGenerator, claims: [UInt8]? = nil
    ) {
        setTarget(target)
        timeoutMs = module.config.hookTimeoutMs ?? limits.backendTimeoutMs
        maxResponseBytes = limits.maxBackendResponseBytes
        let id = key.string
        body.write(string: "{\"connectionId\":")
        JSONWriter.writeString(id, into: &body)
        body.write(string: ",\"path\":")
        JSONWriter.writeString(head.path, into: &body)
        body.write(string: ",\"query\":")
        JSONWriter.writeString(head.query, into: &body)
        body.write(string: ",\"headers\":{")
        // Header names lower-cased; repeated fields joined with ", " (RFC 9110 §5.3).
        var merged: [(String, String)] = []
        for f in head.headers {
            let lower = f.name.lowercased()
            if lower.hasPrefix("gateway-") { continue }  // never forwarded from clients
            if let i = merged.firstIndex(where: { $0.0 == lower }) { merged[i].1 += ", " + f.value } else { merged.append((lower, f.value)) }
        }
        for (i, (name, value)) in merged.enumerated() {
            if i > 0 { body.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(name, into: &body)
            body.write(byte: UInt8(ascii: ":"))
            JSONWriter.writeString(value, into: &body)
        }
        body.write(string: "},\"remoteAddress\":")
        JSONWriter.writeString(remoteAddress, into: &body)
        body.write(string: ",\"subprotocols\":[")
        for (i, p) in subprotocols.enumerated() {
            if i > 0 { body.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(p, into: &body)
        }
        body.write(byte: UInt8(ascii: "]"))
        // A verified token's payload (DESIGN §9: the hook sees the claims), as the token carried it.
        if let claims {
            body.write(string: ",\"claims\":")
            body.write(contentsOf: claims)
        }
        body.write(byte: UInt8(ascii: "}"))
        addHeader("Gateway-Connection-Id", id)
        addTraceparent(continuing: Traceparent.traceID(fromTraceparent: head.headers["traceparent"]), rng: &traceRNG)
    }

    /// The body of a disconnect hook: `{"connectionId","user","rooms","code","reason","durationMs"}`.
    static func disconnectHookBody(key: ConnectionKey, user: String?, rooms: [String], code: UInt16, reason: String, durationMs: Int) -> [UInt8] {
        var b = ByteBuffer(capacity: 256)
        b.write(string: "{\"connectionId\":")
        JSONWriter.writeString(key.string, into: &b)
        b.write(string: ",\"user\":")
        if let u = user { JSONWriter.writeString(u, into: &b) } else { b.write(string: "null") }
        b.write(string: ",\"rooms\":[")
        for (i, r) in rooms.enumerated() {
            if i > 0 { b.write(byte: UInt8(ascii: ",")) }
            JSONWriter.writeString(r, into: &b)
        }
        b.write(string: "],\"code\":")
        b.write(decimal: Int(code))
        b.write(string: ",\"reason\":")
        JSONWriter.writeString(reason, into: &b)
        b.write(string: ",\"durationMs\":")
        b.write(decimal: durationMs)
        b.write(byte: UInt8(ascii: "}"))
        return b.readableArray
    }

    /// One attempt of a lifecycle hook (`POST` with its JSON body and headers, a fresh span).
    mutating func fillHook(target: BackendTarget, body: [UInt8], headers: [(String, String)], timeoutMs: Int, traceRNG: inout TraceIDGenerator) {
        setTarget(target)
        self.body.write(contentsOf: body)
        for (name, value) in headers { addHeader(name, value) }
        addTraceparent(continuing: nil, rng: &traceRNG)
        self.timeoutMs = timeoutMs
    }

    /// What a routed command's call takes from its route: the URL or upstream, the method (POST
    /// unless the route says otherwise; a GET has no body), the timeout and the response limit.
    private mutating func fillRoute(route: Route, body: UnsafeRawBufferPointer, contentType: String, limits: Limits) {
        switch route.target {
        case .url(let u): url = u
        case .upstream(let t): upstream = t
        case .local: break
        }
        httpProtocol = route.httpProtocol
        method = route.method
        hasBody = route.method != "GET"
        timeoutMs = route.timeoutMs ?? limits.backendTimeoutMs
        maxResponseBytes = limits.maxBackendResponseBytes
        self.body.write(body)
        self.contentType = contentType
    }

    /// `Gateway-Connection-Id`, `Gateway-Command` and `Gateway-Request-Id` (`<id>-<seq>`, or
    /// `<id>-http` for a `POST <module path>` command), written without building Strings. A call to
    /// an upstream that retries carries the request id as `Idempotency-Key` too (DESIGN §10), on
    /// every try, so that a backend can recognize a retry of a command it already ran.
    @inline(__always)
    private mutating func addGatewayHeaders(key: ConnectionKey, command: String, seq: UInt64?) {
        addHeader("Gateway-Connection-Id") { b in key.write(into: &b) }
        addHeader("Gateway-Command", command)
        addHeader("Gateway-Request-Id") { b in Self.writeRequestID(key: key, seq: seq, into: &b) }
        if upstream?.retries == true { addIdempotencyKey(key: key, seq: seq) }
    }

    /// `Idempotency-Key: <Gateway-Request-Id>`; out of line, so that calls to URLs do not carry its
    /// code in `addGatewayHeaders`.
    @inline(never)
    private mutating func addIdempotencyKey(key: ConnectionKey, seq: UInt64?) {
        addHeader("Idempotency-Key") { b in Self.writeRequestID(key: key, seq: seq, into: &b) }
    }

    /// `<connection id>-<seq>`, or `<connection id>-http`.
    @inline(__always)
    private static func writeRequestID(key: ConnectionKey, seq: UInt64?, into b: inout ByteBuffer) {
        key.write(into: &b)
        b.write(byte: UInt8(ascii: "-"))
        if let seq { b.write(decimal: UInt(seq)) } else { b.write(string: "http") }
    }

    /// A W3C `traceparent` continuing `traceID` (or a new trace), with a fresh span id.
    mutating func addTraceparent(continuing traceID: String?, rng: inout TraceIDGenerator) {
        addHeader("traceparent") { b in Traceparent.write(traceID: traceID, rng: &rng, into: &b) }
    }
}

/// A handshake header that some route may forward to backends: its lower-cased name and the
/// field as the client sent it.
struct ForwardableHeader {
    let lower: String
    let name: String
    let value: String
}

extension BackendCallSpec {
    /// Hop-by-hop fields (RFC 9110 §7.6.1) plus the framing fields the gateway sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// A reverse-proxied request (`http[]`): the client's method, the route's URL plus the rest of the
    /// path and the query, the client's end-to-end fields minus what the gateway sets itself, and the
    /// forwarding fields (`X-Forwarded-*`, `Forwarded`). The body is streamed, not part of the spec.
    mutating func fillProxy(
        head: HTTPRequestHead, route: HTTPProxyRoute, clientAddress: String, hasBody: Bool, limits: Limits,
        traceRNG: inout TraceIDGenerator
    ) {
        let rest = head.path.dropFirst(route.prefix.count)
        var url = route.url + rest
        if !head.query.isEmpty { url += "?" + head.query }
        self.url = url
        httpProtocol = route.httpProtocol
        method = head.method.description
        timeoutMs = route.timeoutMs ?? limits.backendTimeoutMs
        maxResponseBytes = limits.maxProxyBodyBytes
        self.hasBody = false
        contentType = ""
        // Names listed in Connection are hop-by-hop too.
        var drop = Self.hopByHop
        for t in head.headers.tokens(name: "connection") { drop.insert(t.lowercased()) }
        // Set by the gateway itself: a client's values could forge the host or scheme a backend sees.
        drop.formUnion(["host", "content-length", "expect", "traceparent", "x-forwarded-host", "x-forwarded-proto"])
        var sawAccept = false
        var forwardedFor: String?
        for f in head.headers {
            let lower = f.name.lowercased()
            if drop.contains(lower) || lower.hasPrefix("gateway-") { continue }
            if lower == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { $0 + ", " + f.value } ?? f.value
                continue
            }
            if lower == "accept" { sawAccept = true }
            addHeader(f.name, f.value)
        }
        if !sawAccept { addHeader("Accept", "") }  // keep libcurl from adding its own
        if !hasBody { addHeader("Content-Type", "") }
        addHeader("X-Forwarded-For", forwardedFor.map { $0 + ", " + clientAddress } ?? clientAddress)
        addHeader("X-Forwarded-Proto", "http")
        let host = head.headers["host"].map { HeaderValue.safe($0) }
        if let host { addHeader("X-Forwarded-Host", host) }
        let forNode = clientAddress.contains(":") ? "\"[\(clientAddress)]\"" : clientAddress
        addHeader("Forwarded", "for=\(forNode);proto=http" + (host.map { ";host=\"\($0)\"" } ?? ""))
        addTraceparent(continuing: Traceparent.traceID(fromTraceparent: head.headers["traceparent"]), rng: &traceRNG)
    }
}
