internal import GatewayRedis

extension ConfigDecoder {
    /// Whether `s` is a Redis URL the cluster can use; otherwise the problem is reported at `path`.
    mutating func redisURL(_ s: String, _ path: String) -> Bool {
        do throws(RedisURLError) {
            _ = try RedisURL(parsing: s)
            return true
        } catch {
            fail(path, "\(error)")
            return false
        }
    }
}

extension ClusterSettings {
    /// The Redis endpoints, parsed (the loader has validated them, so none is dropped here).
    var redisURLs: [RedisURL] { redis.compactMap { try? RedisURL(parsing: $0) } }

    /// The endpoints as the start-up line and `/v1/cluster` show them: passwords masked.
    var redisDescriptions: [String] { redisURLs.map(\.description) }
}
