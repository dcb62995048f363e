internal import GatewayBuffers
internal import GatewayIO

/// One loop's answer for stats: its snapshot plus its room and user names (for distinct counts).
struct LoopReport: Sendable {
    var snapshot: LoopSnapshot
    var rooms: [String]
    var users: [String]
}

/// This node's presence, gathered from every loop: what the admin API shows of this node, and what
/// this node answers when another one asks (`ClusterNode+Query`).
extension GatewayHub {
    /// Every loop's report, in loop order, delivered on `origin`.
    func loopReports(from origin: EventLoop, done: @escaping ([LoopReport]) -> Void) {
        gather(from: origin, { ctx in
            LoopReport(snapshot: ctx.snapshot(), rooms: Array(ctx.sessions.rooms.keys), users: Array(ctx.sessions.users.keys))
        }, done: done)
    }

    /// The WebSocket sessions here, all of them or only a room's members (with `user`: that user's
    /// ones among them) or a user's connections, sorted by id, delivered on `origin`.
    func connectionInfos(room: String?, user: String?, from origin: EventLoop, done: @escaping ([ConnectionInfo]) -> Void) {
        gather(from: origin, { ctx -> [ConnectionInfo] in
            var out: [ConnectionInfo] = []
            if let room {
                guard let m = ctx.sessions.rooms[room] else { return [] }
                for h in m.byObject.values where user == nil || h.user == user { h.connection.map { out.append($0.info()) } }
            } else if let user {
                guard let m = ctx.sessions.users[user] else { return [] }
                for h in m.byObject.values { h.connection.map { out.append($0.info()) } }
            } else {
                for h in ctx.sessions.sessions.elements { h.connection.map { out.append($0.info()) } }
            }
            return out
        }) { perLoop in
            done(perLoop.flatMap { $0 }.sorted { $0.id < $1.id })
        }
    }

    /// Connection `key` of this node, or nil when there is no such connection, delivered on `origin`.
    func connectionInfo(_ key: ConnectionKey, from origin: EventLoop, done: @escaping (ConnectionInfo?) -> Void) {
        guard key.isLocal, Int(key.loop) < loopCount else { return done(nil) }
        let box = SendableBox(done)
        onLoop(Int(key.loop)) { owner in
            let info = owner.sessions.byID[key]?.connection?.info()
            origin.execute { box.value(info) }
        }
    }
}
