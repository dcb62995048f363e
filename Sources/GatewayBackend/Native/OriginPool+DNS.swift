internal import GatewayIO

/// A pool whose origin is a host name: new connections take their address from the loop's DNS
/// cache (in turn over every address), calls wait while the name resolves, a refused connect moves
/// its calls to the next address, and connections to addresses that leave the answer are retired.
/// Calls on open connections never come here: the per-call path is the same as for an IP address.
extension OriginPool: DNSResolverClient {
    /// The address for a new connection: the URL's, or the host name's next one. Nil when the name
    /// has no answer yet (a query is on its way; `dnsAnswerChanged` follows) or does not resolve
    /// (`resolveError` then says why).
    func newConnectionAddress() -> SocketAddress? {
        switch origin {
        case .address(let a):
            return a
        case .name(let host, let port):
            switch client.resolver.address(for: host, port: port) {
            case .address(let a):
                resolveError = nil
                return a
            case .pending, .needsQuery:
                resolveError = nil
                return nil
            case .failed(let why):
                resolveError = .unavailable("cannot resolve \(host): \(why)")
                return nil
            }
        }
    }

    var usesName: Bool { !connections.isEmpty || head < waiting.count }

    func dnsAnswerChanged(_ name: String, failure: String?) {
        guard case .name(let host, _) = origin else { return }
        let cache = client.resolver.cache
        let unlisted = connections.filter { $0.canAccept && !cache.lists(host, $0.address.host) }
        for c in unlisted { c.retire() }
        if let failure, !cache.hasAnswer(host) {
            // The query the waiting calls waited for failed: they fail with its reason (not with
            // whatever a later lookup would find once the negative answer ran out).
            resolveError = .unavailable("cannot resolve \(host): \(failure)")
        } else {
            slotFreed()
        }
        failWaitingIfUnresolvable()
    }

    /// Connecting to `c.address` failed; `unsent` are the calls queued on it (none reached the
    /// backend). For an IP address they fail, with the calls waiting for this origin. For a host
    /// name the address is marked, the name is resolved again, and each call moves on to the next
    /// address (or the new answer) until it has tried `DNSCache.connectAttempts`.
    func connectFailed(_ c: BackendConnection, unsent: [(request: BackendCall, target: NativeTarget)], error: IOError?) {
        guard case .name(let host, _) = origin else {
            let why = BackendError.unavailable(error.map { "\($0)" } ?? "connection failed")
            for p in unsent { client.complete(p.request, error: why) }
            remove(c)
            failWaiting(why)
            return
        }
        let resolver = client.resolver
        resolver.connectFailed(host, address: c.address)
        let limit = resolver.cache.connectAttempts(host)
        var moved: [(BackendCall, NativeTarget)] = []
        for p in unsent {
            let r = p.request
            r.connectFailures += 1
            if r.connectFailures < limit {
                r.nativeAttempts -= 1  // it never reached a backend: the keep-alive retry stays available
                moved.append((r, p.target))
            } else {
                client.complete(r, error: .unavailable("\(host) (\(c.address)): \(error.map { "\($0)" } ?? "connection failed")"))
            }
        }
        client.connectFailovers += moved.count
        waiting.insert(contentsOf: moved, at: head)  // first in line, in their order
        remove(c)  // gives the waiting calls a connection to the next address, or waits for the answer
        failWaitingIfUnresolvable()
    }

    /// Fails the waiting calls when the name does not resolve and no connection can take them.
    private func failWaitingIfUnresolvable() {
        guard head < waiting.count, let e = resolveError else { return }
        failWaiting(e)
    }
}
