/// The cluster's metrics (DESIGN §8, issue 9 point 6), added to `/metrics` in cluster mode only.
///
/// They are not in `GatewayMetrics`, which holds per-loop counters summed across loops: all of these
/// live on loop 0 with the Redis connections, and are read there. Labels stay bounded: `url` takes
/// one value per configured Redis endpoint (password masked), and no label names a node, room or
/// user.
extension PrometheusText {
    static func renderCluster(_ s: ClusterStatus) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [String]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for l in lines { out += l + "\n" }
        }
        metric("gateway_cluster_redis_up", "gauge", "1 while every connection to the Redis endpoint is up, else 0.",
               s.redis.map { "gateway_cluster_redis_up{url=\"\(escape($0.url))\"} \($0.up ? 1 : 0)" })
        metric("gateway_cluster_nodes", "gauge", "Nodes in the cluster as this node sees them, itself included.",
               ["gateway_cluster_nodes \(s.nodes.count)"])
        metric("gateway_cluster_published_total", "counter", "Deliveries published to Redis for the other nodes.",
               ["gateway_cluster_published_total \(s.published)"])
        metric("gateway_cluster_received_total", "counter", "Deliveries received from other nodes and delivered here.",
               ["gateway_cluster_received_total \(s.received)"])
        metric("gateway_cluster_dropped_total", "counter", "Publishes refused because the bounded Redis queue was full.",
               ["gateway_cluster_dropped_total \(s.dropped)"])
        metric("gateway_cluster_delivery_latency_seconds", "histogram",
               "From a delivery's publish on its origin node to this node taking it off Redis (the two nodes' wall clocks).",
               s.latency.lines("gateway_cluster_delivery_latency_seconds"))
        metric("gateway_cluster_queue_depth", "gauge", "Redis commands waiting for a connection to come back.",
               ["gateway_cluster_queue_depth \(s.redis.reduce(0) { $0 + $1.queued })"])
        return out
    }
}
