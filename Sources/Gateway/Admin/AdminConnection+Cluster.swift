internal import GatewayIO

extension AdminConnection {
    /// The node list this node sees (DESIGN §8), or the cluster's absence.
    ///
    /// The admin API runs on loop 0, which owns the Redis connections and the heartbeat, so their
    /// state is read here directly; only the WebSocket count is gathered from every loop (the
    /// heartbeat's own count may be a beat old).
    func cluster() {
        let ctx = server.context
        // Without `cluster` the gateway is one node, as before (DESIGN §8): 200 with `node: null`
        // rather than 404, so a dashboard polling every node needs no special case and 404 keeps
        // meaning "no such endpoint".
        guard let link = ctx.hub.cluster as? ClusterNode else {
            return respond(200, json: ClusterStatus.standaloneJSON)
        }
        assert(ctx.loop.index == 0, "the admin API and the cluster's Redis connections live on loop 0")
        ctx.hub.gather(from: ctx.loop, { $0.sessions.count }) { [self] counts in
            let status = link.status(connections: counts.reduce(0, +))
            respond(200, body: status.json(), contentType: "application/json")
        }
    }
}
