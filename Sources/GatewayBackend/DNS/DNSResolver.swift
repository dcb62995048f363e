internal import CGatewayShims
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

/// Resolves backend host names on one event loop with c-ares: c-ares says which sockets to watch
/// (`ARES_OPT_SOCK_STATE_CB` → `EventLoop.watch`), a `LoopTimer` drives its timeouts
/// (`ares_timeout` → `ares_process_fd`), and answers land in a `DNSCache`. No thread besides the
/// loop's is involved, so an answer needs no hand-off, a query is cancelled by destroying the
/// channel, and `ares_getaddrinfo` gives each record's TTL (the system resolver does not).
///
/// `ares_getaddrinfo` reads the hosts file and honours `search`/`ndots` from resolv.conf, as the
/// system resolver does; it asks for A and AAAA together. One resolver per loop, made the first time
/// a backend URL names a host: a gateway whose backends are all IP addresses never opens c-ares.
final class DNSResolver: FDWatcher {
    unowned(unsafe) let loop: EventLoop
    let settings: DNSSettings
    /// The answers (read by `OriginPool` for new connections only).
    private(set) var cache: DNSCache
    /// The c-ares channel; nil when `ares_init_options` failed (`initError` says why).
    private var channel: OpaquePointer?
    /// Why there is no channel: every lookup fails with it.
    private var initError: String?
    /// Loop watches of c-ares's sockets, by descriptor.
    private var watches: [Int32: Int] = [:]
    /// Fires when c-ares's earliest timeout is due.
    private var aresTimer: LoopTimer?
    /// Fires when the cache's earliest refresh or expiry is due.
    private var cacheTimer: LoopTimer?
    /// Delivers `dnsAnswerChanged` on the next tick, outside whatever method caused it.
    private var notifyTimer: LoopTimer?
    /// Names whose query ended since the last delivery, with the failure if it failed.
    private var toNotify: [(name: String, failure: String?)] = []
    /// Who connects to each name.
    private var clients: [String: [Unowned]] = [:]
    private var closed = false
    /// Queries that ended with an answer / with an error (metrics).
    private(set) var answered = 0
    private(set) var failed = 0

    /// Per-try timeout given to c-ares. 2 s: a lost UDP answer is retried well within a backend
    /// call's default 5 s timeout (c-ares's own default is 5 s per try, and 4 tries).
    static let tryTimeoutMs: Int32 = 2000
    /// Tries per name server; 2 is the system resolver's default (`attempts:2` in resolv.conf).
    static let tries: Int32 = 2

    private struct Unowned {
        unowned(unsafe) let client: any DNSResolverClient
    }

    /// Sets what c-ares needs process-wide, before any loop starts (it is not thread-safe):
    /// `ares_library_init`, and `CARES_HOSTS` when `settings.hostsFile` names a hosts file (the
    /// only way c-ares 1.18 can be pointed at one; lookups then pass `ARES_AI_ENVHOSTS`).
    static func prepareProcess(_ settings: DNSSettings) {
        ares_library_init(ARES_LIB_INIT_ALL)
        if let hosts = settings.hostsFile { setenv("CARES_HOSTS", hosts, 1) }
    }

    /// Creates the channel with `settings`; a failure is kept and reported by every lookup.
    init(loop: EventLoop, settings: DNSSettings) {
        self.loop = loop
        self.settings = settings
        cache = DNSCache(settings: settings)
        aresTimer = loop.makeTimer { [unowned(unsafe) self] in self.aresTimeout() }
        cacheTimer = loop.makeTimer { [unowned(unsafe) self] in self.cacheDue() }
        notifyTimer = loop.makeTimer { [unowned(unsafe) self] in self.deliverNotifications() }
        initError = openChannel()
    }

    deinit {
        if !closed { close() }
    }

    private func openChannel() -> String? {
        var options = ares_options()
        var mask: Int32 = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES
        options.timeout = Self.tryTimeoutMs
        options.tries = Self.tries
        options.sock_state_cb = { data, fd, readable, writable in
            guard let data else { return }
            Unmanaged<DNSResolver>.fromOpaque(data).takeUnretainedValue().socketState(fd, readable != 0, writable != 0)
        }
        options.sock_state_cb_data = Unmanaged.passUnretained(self).toOpaque()
        let path = settings.resolvConf.map { strdup($0) } ?? nil
        defer { free(path) }
        if let path {
            options.resolvconf_path = path
            mask |= ARES_OPT_RESOLVCONF
        }
        var ch: OpaquePointer?
        let rc = ares_init_options(&ch, &options, mask)
        guard rc == ARES_SUCCESS, let ch else { return "ares_init_options: \(Self.reason(rc))" }
        channel = ch
        if !settings.servers.isEmpty {
            let rc = ares_set_servers_ports_csv(ch, settings.servers.joined(separator: ","))
            if rc != ARES_SUCCESS { return "ares_set_servers_ports_csv: \(Self.reason(rc))" }
        }
        return nil
    }

    static func reason(_ status: Int32) -> String {
        String(cString: ares_strerror(status))
    }

    // MARK: Used by the pools

    /// Registers `client` for news about `name` (once per pool; pools live as long as the client).
    func subscribe(_ name: String, _ client: any DNSResolverClient) {
        clients[name, default: []].append(Unowned(client: client))
    }

    /// Where a new connection to `name`:`port` goes: an address, `.pending` (a query is on its way:
    /// `dnsAnswerChanged` follows), or `.failed`. Starts the query a name needs; a name found in the
    /// hosts file is answered at once.
    func address(for name: String, port: UInt16) -> DNSCache.Lookup {
        if let initError { return .failed("DNS resolver unavailable: \(initError)") }
        let first = cache.lookup(name, port: port, now: loop.now)
        guard first == .needsQuery else { return first }
        query(name)
        let again = cache.lookup(name, port: port, now: loop.now)
        return again == .needsQuery ? .pending : again
    }

    /// A connect to `address` (of `name`) failed: avoid it for a while and resolve the name again
    /// (rate-limited by the cache).
    func connectFailed(_ name: String, address: SocketAddress) {
        if cache.markFailed(name, address: address, now: loop.now) {
            query(name)
        } else {
            armCacheTimer()
        }
    }

    /// Ends every query (their answers are dropped) and closes c-ares's sockets.
    func close() {
        guard !closed else { return }
        closed = true
        aresTimer?.cancel()
        cacheTimer?.cancel()
        notifyTimer?.cancel()
        clients.removeAll()
        if let ch = channel {
            channel = nil
            ares_destroy(ch)  // pending callbacks run with ARES_EDESTRUCTION; sockets go through socketState
        }
        for (_, id) in watches { loop.unwatch(id) }
        watches.removeAll()
    }

    // MARK: Queries

    /// One query in flight: what c-ares's callback needs to find the resolver and the name.
    private final class Query {
        unowned(unsafe) let resolver: DNSResolver
        let name: String
        init(_ resolver: DNSResolver, _ name: String) {
            self.resolver = resolver
            self.name = name
        }
    }

    private func query(_ name: String) {
        guard let ch = channel, !closed, cache.beginQuery(name, now: loop.now) else { return }
        var hints = ares_addrinfo_hints()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)  // one node per address (not one per socket type)
        // No RFC 6724 sorting: it opens a UDP socket per address, and new connections rotate over
        // every address anyway.
        hints.ai_flags = ARES_AI_NOSORT | (settings.hostsFile == nil ? 0 : ARES_AI_ENVHOSTS)
        let arg = Unmanaged.passRetained(Query(self, name)).toOpaque()
        ares_getaddrinfo(ch, name, nil, &hints, { arg, status, _, result in
            guard let arg else {
                ares_freeaddrinfo(result)
                return
            }
            let q = Unmanaged<Query>.fromOpaque(arg).takeRetainedValue()
            q.resolver.finished(q.name, status: status, result: result)
        }, arg)
        armAresTimer()
    }

    private func finished(_ name: String, status: Int32, result: UnsafeMutablePointer<ares_addrinfo>?) {
        defer { ares_freeaddrinfo(result) }
        guard !closed, status != ARES_EDESTRUCTION else { return }
        let now = loop.now
        var failure: String?
        if status == ARES_SUCCESS, let result {
            var hosts: [SocketAddress.Host] = []
            var ttl = Int.max
            var node = result.pointee.nodes
            while let n = node {
                if let host = Self.host(of: n.pointee) {
                    hosts.append(host)
                    ttl = min(ttl, Int(n.pointee.ai_ttl))
                }
                node = n.pointee.ai_next
            }
            var cname = result.pointee.cnames
            while let c = cname {
                ttl = min(ttl, Int(c.pointee.ttl))
                cname = c.pointee.next
            }
            if hosts.isEmpty {
                failure = "no IPv4 or IPv6 address in the answer"
            } else {
                answered += 1
                cache.record(name, hosts: hosts, ttlSeconds: ttl, now: now)
            }
        } else {
            failure = Self.reason(status)
        }
        if let failure {
            failed += 1
            cache.recordFailure(name, error: failure, now: now)
        }
        armCacheTimer()
        toNotify.removeAll { $0.name == name }
        toNotify.append((name, failure))
        notifyTimer?.schedule(afterNanos: 0)
    }

    private static func host(of node: ares_addrinfo_node) -> SocketAddress.Host? {
        guard let sa = node.ai_addr else { return nil }
        switch node.ai_family {
        case AF_INET:
            let a = UnsafeRawPointer(sa).assumingMemoryBound(to: sockaddr_in.self).pointee.sin_addr
            return withUnsafeBytes(of: a) { .v4($0[0], $0[1], $0[2], $0[3]) }
        case AF_INET6:
            let a = UnsafeRawPointer(sa).assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_addr
            return withUnsafeBytes(of: a) { .v6(Array($0)) }
        default:
            return nil
        }
    }

    private func deliverNotifications() {
        while !toNotify.isEmpty {
            let ended = toNotify
            toNotify.removeAll(keepingCapacity: true)
            for (name, failure) in ended {
                for c in clients[name] ?? [] { c.client.dnsAnswerChanged(name, failure: failure) }
            }
        }
    }

    // MARK: Cache timer

    private func armCacheTimer() {
        guard !closed else { return }
        if let at = cache.nextDeadline { cacheTimer?.schedule(at: at) } else { cacheTimer?.cancel() }
    }

    private func cacheDue() {
        let names = cache.due(now: loop.now) { [clients] name in
            clients[name]?.contains { $0.client.usesName } ?? false
        }
        for name in names { query(name) }
        armCacheTimer()
    }

    // MARK: c-ares sockets and timeouts

    private func socketState(_ fd: Int32, _ readable: Bool, _ writable: Bool) {
        if let id = watches[fd] {
            if readable || writable {
                loop.updateWatch(id, readable: readable, writable: writable)
            } else {
                loop.unwatch(id)
                watches[fd] = nil
            }
        } else if readable || writable {
            watches[fd] = loop.watch(fd: fd, readable: readable, writable: writable, token: Int(fd), watcher: self)
        }
    }

    func fdReady(_ fd: Int32, token: Int, readable: Bool, writable: Bool, error: Bool) {
        guard let ch = channel else { return }
        // An error condition is handed over as readable: c-ares reads, sees the error, and moves
        // on to the next server.
        ares_process_fd(ch, readable || error ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD)
        armAresTimer()
    }

    private func aresTimeout() {
        guard let ch = channel else { return }
        ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD)
        armAresTimer()
    }

    private func armAresTimer() {
        guard let ch = channel else { return }
        var tv = timeval()
        guard let next = ares_timeout(ch, nil, &tv) else {
            aresTimer?.cancel()
            return
        }
        let nanos = UInt64(max(0, next.pointee.tv_sec)) * 1_000_000_000 + UInt64(max(0, next.pointee.tv_usec)) * 1000
        aresTimer?.schedule(afterNanos: nanos)
    }
}
