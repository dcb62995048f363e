internal import GatewayIO

/// One loop's part of the session index: its WebSocket sessions by id, by user and by room.
/// Every operation is O(1) (dictionary) except delivery, which is linear in the recipients.
/// A user or room spans loops; each loop indexes only its own connections, and deliveries are handed
/// to every loop that may hold recipients.
///
/// The shard owns each session's `Handle`: the user, the rooms and the index bookkeeping are written
/// only here (`join`, `leave`, `setUser`), so the indexes and what a connection reports about itself
/// cannot disagree.
final class SessionShard {
    /// A session as the index knows it: the WebSocket connection itself (a subclass), so that a
    /// session costs no object of its own (a separate handle was 104 bytes per idle connection,
    /// issue 13). The user, the rooms and the index bookkeeping are written only here.
    class Handle {
        /// The connection's id.
        let key: ConnectionKey
        /// Position in `sessions` (swap-remove); -1 while not in the index. 32 bits, stored in the
        /// padding after the 20-byte key.
        fileprivate var index: Int {
            get { Int(position) }
            set { position = Int32(truncatingIfNeeded: newValue) }
        }
        private var position: Int32 = -1
        /// The user id (`Gateway-Set-User`), if known.
        fileprivate(set) var user: String?
        /// Rooms joined (`Gateway-Join`), in join order. Kept as they were when the session ends:
        /// where `deliver: room` goes for a message whose call finishes after that.
        fileprivate(set) var rooms: [String] = []
        /// Serial of the last delivery written to this session (dedup across rooms).
        fileprivate var deliveryMark: UInt64 = 0

        /// A session with id `key`, not in any index yet.
        init(key: ConnectionKey) {
            self.key = key
        }

        /// Whether the session is in the index (`add` ran and `remove` did not).
        final var isIndexed: Bool { index >= 0 }

        /// Writes a shared push frame to the session; returns whether it was queued. Overridden by
        /// the connection (and by test receivers).
        func push(_ frames: PushFrames) -> Bool { false }

        /// The WebSocket connection behind this session (admin API).
        final var connection: WebSocketConnection? { self as? WebSocketConnection }
    }

    /// A set of sessions that keeps insertion cheap and iteration allocation-free.
    final class Members {
        var byObject: [ObjectIdentifier: Handle] = [:]
        var isEmpty: Bool { byObject.isEmpty }
        var count: Int { byObject.count }
    }

    /// A room or user that gained its first session on this loop, or lost its last one: what a
    /// cluster node subscribes and unsubscribes by, so traffic for a room reaches only the nodes
    /// with members.
    enum IndexChange: Equatable, Sendable {
        case roomAppeared(String), roomVanished(String), userAppeared(String), userVanished(String)
    }

    /// Told of every `IndexChange`, on this loop, after the index changed. Nil for a single node.
    var onIndexChange: ((IndexChange) -> Void)?
    /// Told when a session opened or its user or rooms changed (false), or it ended (true), after
    /// the index changed. Nil for a single node.
    var onSessionChange: ((Handle, _ ended: Bool) -> Void)?

    private(set) var byID = SessionTable()
    private(set) var rooms: [String: Members] = [:]
    private(set) var users: [String: Members] = [:]
    /// Open WebSocket sessions (for `all`), each knowing its position.
    private(set) var sessions = SwapRemoveList<Handle>()

    var count: Int { sessions.count }

    /// Registers a connection that just became a WebSocket, with the user and rooms the handshake
    /// gave it (duplicates and empty names dropped, order kept).
    @discardableResult
    func add(_ h: Handle, user: String?, rooms joined: [String]) -> Handle {
        guard !h.isIndexed else { return h }
        var names: [String] = []
        for n in joined where !n.isEmpty && !names.contains(n) { names.append(n) }
        h.user = user
        h.rooms = names
        h.index = sessions.append(h)
        byID.insert(h)
        if let u = user { insert(h, into: &users, key: u, kind: .user) }
        for r in names { insert(h, into: &rooms, key: r, kind: .room) }
        onSessionChange?(h, false)
        return h
    }

    /// Removes a session from every index (its connection closed, for whatever reason).
    func remove(_ h: Handle) {
        guard sessions.remove(at: h.index, if: { $0 === h }, reindex: { $0.index = $1 }) else { return }
        h.index = -1
        byID.remove(h.key)
        if let u = h.user { drop(h, from: &users, key: u, kind: .user) }
        for r in h.rooms { drop(h, from: &rooms, key: r, kind: .room) }
        onSessionChange?(h, true)
    }

    /// Adds the session to rooms it is not in yet.
    func join(_ h: Handle, _ names: [String]) {
        var changed = false
        for n in names where !n.isEmpty && !h.rooms.contains(n) {
            h.rooms.append(n)
            changed = true
            if h.index >= 0 { insert(h, into: &rooms, key: n, kind: .room) }
        }
        if changed, h.index >= 0 { onSessionChange?(h, false) }
    }

    /// Removes the session from rooms.
    func leave(_ h: Handle, _ names: [String]) {
        var changed = false
        for n in names {
            guard let i = h.rooms.firstIndex(of: n) else { continue }
            h.rooms.remove(at: i)
            changed = true
            if h.index >= 0 { drop(h, from: &rooms, key: n, kind: .room) }
        }
        if changed, h.index >= 0 { onSessionChange?(h, false) }
    }

    /// Sets (or clears) the session's user.
    func setUser(_ h: Handle, _ user: String?) {
        guard h.user != user else { return }
        if let old = h.user, h.index >= 0 { drop(h, from: &users, key: old, kind: .user) }
        h.user = user
        if let u = user, h.index >= 0 { insert(h, into: &users, key: u, kind: .user) }
        if h.index >= 0 { onSessionChange?(h, false) }
    }

    /// Adds `h` under `key`, creating the set. (Not `index[key, default: Members()].byObject[…] = h`:
    /// with a class value that mutates a temporary default that is never stored.)
    private enum IndexKind { case room, user }

    private func insert(_ h: Handle, into index: inout [String: Members], key: String, kind: IndexKind) {
        let m: Members
        if let existing = index[key] {
            m = existing
        } else {
            m = Members()
            index[key] = m
            onIndexChange?(kind == .room ? .roomAppeared(key) : .userAppeared(key))
        }
        m.byObject[ObjectIdentifier(h)] = h
    }

    private func drop(_ h: Handle, from index: inout [String: Members], key: String, kind: IndexKind) {
        guard let m = index[key] else { return }
        m.byObject[ObjectIdentifier(h)] = nil
        if m.isEmpty {
            index[key] = nil
            onIndexChange?(kind == .room ? .roomVanished(key) : .userVanished(key))
        }
    }

    /// Writes a delivery's frame to every recipient on this loop. Returns how many got it.
    func deliver(_ d: Delivery) -> Int {
        for k in d.except { byID[k]?.deliveryMark = d.serial }
        var n = 0
        switch d.target {
        case .all:
            for h in sessions.elements where h.deliveryMark != d.serial { n += push(h, d) }
        case .room(let name):
            if let m = rooms[name] { for h in m.byObject.values where h.deliveryMark != d.serial { n += push(h, d) } }
        case .rooms(let names):
            for name in names {
                guard let m = rooms[name] else { continue }
                for h in m.byObject.values where h.deliveryMark != d.serial { n += push(h, d) }
            }
        case .user(let u):
            if let m = users[u] { for h in m.byObject.values where h.deliveryMark != d.serial { n += push(h, d) } }
        case .connections(let keys):
            for k in keys { if let h = byID[k], h.deliveryMark != d.serial { n += push(h, d) } }
        }
        return n
    }

    private func push(_ h: Handle, _ d: Delivery) -> Int {
        h.deliveryMark = d.serial
        return h.push(d.frames) ? 1 : 0
    }
}
