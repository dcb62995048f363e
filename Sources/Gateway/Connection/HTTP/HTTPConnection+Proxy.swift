internal import GatewayBackend
internal import GatewayBuffers
internal import GatewayHTTP1
internal import GatewayIO
internal import Logging

/// `http[]` routes: reverse proxying to backends by path prefix.
extension HTTPConnection {
    /// The `http[]` route for a path: the longest matching prefix.
    func proxyRoute(for path: Substring) -> HTTPProxyRoute? {
        var best: HTTPProxyRoute?
        for r in context.runtime.config.http where path.hasPrefix(r.prefix) {
            if best == nil || r.prefix.count > (best?.prefix.count ?? 0) { best = r }
        }
        return best
    }

    /// Starts proxying a request whose head just arrived; its body is streamed as it comes.
    func startProxy(_ head: HTTPRequestHead, _ route: HTTPProxyRoute) {
        let p = ProxyExchange(connection: self, head: head)
        pending = .proxy(p)
        exchange.streamBody()
        p.start(head: head, route: route)
    }

    /// A proxied exchange ended, completely or not.
    func proxyFinished(_ p: ProxyExchange, error: BackendError?) {
        guard case .proxy(let current) = pending, current === p else { return }
        pending = nil
        tcp.notifyWhenDrained = false
        guard isAnswering else { return }
        if let error {
            if p.headWritten {
                // Mid-response failure: the only honest signal left is to drop the connection.
                context.logger.warning("proxy \(error) after the response started; closing the client connection")
                tcp.abort()
                return
            }
            let (status, message): (Int, String) = switch error {
            case .timeout: (504, "backend timeout")
            case .responseTooLarge: (502, "backend response too large")
            case .cancelled: (503, "gateway shutting down")
            default: (502, "bad gateway: \(error)")
            }
            respond(status: status, body: "{\"error\":\(Self.jsonString(message))}", contentType: "application/json", close: true)
            return
        }
        if p.chunked { tcp.write { $0.write(string: "0\r\n\r\n") } }
        let keepAlive = exchange.respond(close: p.closesConnection || context.draining, now: context.loop.now)
        finishResponse(keepAlive: keepAlive)
        if keepAlive {
            tcp.resumeReading()
            resumeHeld()
        }
    }
}
