internal import GatewayIO

/// One loop's part of the session index: its WebSocket connections by id, by user and by room.
/// Every operation is O(1) (dictionary) except delivery, which is linear in the recipients.
/// A user or room spans loops; each loop indexes only its own connections, and deliveries are handed
/// to every loop that may hold recipients.
final class SessionShard {
    /// A set of connections that keeps insertion cheap and iteration allocation-free.
    final class Members {
        var byObject: [ObjectIdentifier: ClientConnection] = [:]
        var isEmpty: Bool { byObject.isEmpty }
        var count: Int { byObject.count }
    }

    private(set) var byID: [ConnectionKey: ClientConnection] = [:]
    private(set) var rooms: [String: Members] = [:]
    private(set) var users: [String: Members] = [:]
    /// Open WebSocket connections (for `all`), with each connection's position in `sessionIndex`.
    private(set) var sessions: [ClientConnection] = []

    var count: Int { sessions.count }

    /// Registers a connection that just became a WebSocket, with the user and rooms it already has.
    func add(_ c: ClientConnection) {
        guard let s = c.ws, c.sessionIndex < 0 else { return }
        c.sessionIndex = sessions.count
        sessions.append(c)
        byID[c.key] = c
        if let u = s.user { insert(c, into: &users, key: u) }
        for r in s.rooms { insert(c, into: &rooms, key: r) }
    }

    /// Removes a connection from every index (close, for whatever reason).
    func remove(_ c: ClientConnection) {
        let i = c.sessionIndex
        guard i >= 0, i < sessions.count, sessions[i] === c else { return }
        let last = sessions.count - 1
        if i != last {
            sessions[i] = sessions[last]
            sessions[i].sessionIndex = i
        }
        sessions.removeLast()
        c.sessionIndex = -1
        byID[c.key] = nil
        if let s = c.ws {
            if let u = s.user { drop(c, from: &users, key: u) }
            for r in s.rooms { drop(c, from: &rooms, key: r) }
        }
    }

    /// Adds the connection to rooms it is not in yet.
    func join(_ c: ClientConnection, _ names: [String]) {
        guard let s = c.ws else { return }
        for n in names where !n.isEmpty && !s.rooms.contains(n) {
            s.rooms.append(n)
            if c.sessionIndex >= 0 { insert(c, into: &rooms, key: n) }
        }
    }

    /// Removes the connection from rooms.
    func leave(_ c: ClientConnection, _ names: [String]) {
        guard let s = c.ws else { return }
        for n in names {
            guard let i = s.rooms.firstIndex(of: n) else { continue }
            s.rooms.remove(at: i)
            if c.sessionIndex >= 0 { drop(c, from: &rooms, key: n) }
        }
    }

    /// Sets (or clears) the connection's user.
    func setUser(_ c: ClientConnection, _ user: String?) {
        guard let s = c.ws, s.user != user else { return }
        if let old = s.user, c.sessionIndex >= 0 { drop(c, from: &users, key: old) }
        s.user = user
        if let u = user, c.sessionIndex >= 0 { insert(c, into: &users, key: u) }
    }

    /// Adds `c` under `key`, creating the set. (Not `index[key, default: Members()].byObject[…] = c`:
    /// with a class value that mutates a temporary default that is never stored.)
    private func insert(_ c: ClientConnection, into index: inout [String: Members], key: String) {
        let m: Members
        if let existing = index[key] {
            m = existing
        } else {
            m = Members()
            index[key] = m
        }
        m.byObject[ObjectIdentifier(c)] = c
    }

    private func drop(_ c: ClientConnection, from index: inout [String: Members], key: String) {
        guard let m = index[key] else { return }
        m.byObject[ObjectIdentifier(c)] = nil
        if m.isEmpty { index[key] = nil }
    }

    /// Writes a delivery's frame to every recipient on this loop. Returns how many got it.
    func deliver(_ d: Delivery) -> Int {
        for k in d.except { byID[k]?.deliveryMark = d.serial }
        var n = 0
        switch d.target {
        case .all:
            for c in sessions where c.deliveryMark != d.serial { n += push(c, d) }
        case .room(let name):
            if let m = rooms[name] { for c in m.byObject.values where c.deliveryMark != d.serial { n += push(c, d) } }
        case .rooms(let names):
            for name in names {
                guard let m = rooms[name] else { continue }
                for c in m.byObject.values where c.deliveryMark != d.serial { n += push(c, d) }
            }
        case .user(let u):
            if let m = users[u] { for c in m.byObject.values where c.deliveryMark != d.serial { n += push(c, d) } }
        case .connections(let keys):
            for k in keys { if let c = byID[k], c.deliveryMark != d.serial { n += push(c, d) } }
        }
        return n
    }

    private func push(_ c: ClientConnection, _ d: Delivery) -> Int {
        c.deliveryMark = d.serial
        return c.push(d.frames) ? 1 : 0
    }
}
