extension RedisConnection {
    /// Limits and timings of one connection.
    public struct Configuration: Sendable {
        /// Commands that may wait while Redis is down or the handshake runs; more are refused with
        /// `RedisError.queueFull`. 10,000 holds several seconds of cross-node publishes of a busy node
        /// (the heal target is 2 s) without letting an outage grow memory without bound.
        public var maxQueuedCommands: Int
        /// Bytes that may wait, counting commands queued while down and, once up, bytes the socket
        /// has not taken yet. 8 MiB: 10,000 publishes of about 800 bytes.
        public var maxQueuedBytes: Int
        /// First reconnect step: 50 ms, so a Redis restart costs little more than the restart.
        public var reconnectInitialNanos: UInt64
        /// Largest reconnect step: 1 s. A delay is at most one step, so the client is back within a
        /// second of Redis becoming reachable, inside the 2 s heal target; one attempt a second
        /// per node costs Redis nothing.
        public var reconnectMaxNanos: UInt64
        /// How long connecting plus `AUTH`/`SELECT` may take before the attempt is abandoned. 2 s: a
        /// loopback or LAN Redis answers in well under a millisecond, and without a limit a lost SYN
        /// would hold the attempt for the kernel's two minutes. Checked by the loop's 250 ms sweep.
        public var connectTimeoutNanos: UInt64

        /// The defaults described on each property.
        public init(
            maxQueuedCommands: Int = 10_000,
            maxQueuedBytes: Int = 8 << 20,
            reconnectInitialNanos: UInt64 = 50_000_000,
            reconnectMaxNanos: UInt64 = 1_000_000_000,
            connectTimeoutNanos: UInt64 = 2_000_000_000
        ) {
            self.maxQueuedCommands = maxQueuedCommands
            self.maxQueuedBytes = maxQueuedBytes
            self.reconnectInitialNanos = reconnectInitialNanos
            self.reconnectMaxNanos = reconnectMaxNanos
            self.connectTimeoutNanos = connectTimeoutNanos
        }
    }
}
