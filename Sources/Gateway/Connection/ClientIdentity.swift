/// The identity of a client connection, made at accept and handed from the HTTP handler to the
/// WebSocket handler at the upgrade.
struct ClientIdentity {
    /// Cluster-unique, unguessable id (`Gateway-Connection-Id`).
    let key: ConnectionKey
    /// Loop time of the accept.
    let acceptedAt: UInt64

    /// The id's text form (allocates: for JSON, logs and cold paths).
    var id: String { key.string }
}
