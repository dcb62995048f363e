extension GatewayHub {
    /// A push from a connection, a command or the admin API to `target`: encoded once per wire
    /// format this node speaks, delivered on every loop that may hold recipients, and, in a cluster,
    /// handed to the cluster link for the other nodes (which encode it once each for their own
    /// recipients). The one place deliveries start.
    ///
    /// - Parameter done: called on `origin`'s loop with the number of recipients on this node.
    func push(
        _ target: DeliveryTarget, except: [ConnectionKey], command: String, data: UnsafeRawBufferPointer,
        dataIsJSON: Bool, binary: Bool, from origin: LoopContext, done: ((Int) -> Void)? = nil
    ) {
        // The other nodes first: their fan-out then runs while this node writes its own share,
        // instead of after it (S7).
        if let cluster {
            cluster.publish(ClusterMessage(
                origin: cluster.node, target: target, except: except, command: command, data: Array(data),
                dataIsJSON: dataIsJSON, binary: binary), from: origin.loop)
        }
        let frames = PushFrames(command: command, data: data, dataIsJSON: dataIsJSON, binary: binary, parsers: origin.runtime.parsers)
        dispatch(Delivery(target: target, except: except, frames: frames), from: origin, done: done)
    }
}
