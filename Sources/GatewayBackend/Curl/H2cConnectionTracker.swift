/// Decides, for libcurl before 8.0, which h2c transfers may ask for prior knowledge.
///
/// Those versions (Debian 12 ships 7.88.1) break prior knowledge on a reused connection: the
/// transfer stacks a second HTTP/2 layer on the connection and fails with "Error in the HTTP2
/// framing layer" (curl issue 10634, fixed in 8.0.0). So every h2c call but the first on a
/// connection would fail. The work-around gives each transfer one of three roles:
/// - an **opener** asks for prior knowledge (`CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE`) and a fresh
///   connection (`CURLOPT_FRESH_CONNECT`), so it never reuses one;
/// - a **joiner** asks for plain HTTP/2 (`CURL_HTTP_VERSION_2_0`), which on an HTTP/2 connection
///   just adds a stream, and must never open a connection (it would send an HTTP/1.1 `Upgrade:
///   h2c` request, which prior-knowledge backends do not accept): its open-socket callback is
///   vetoed, and the transfer is started again (nothing was sent);
/// - a transfer that must **wait** is held back, not given to libcurl, while an opener of its
///   origin has not yet sent its request: until then the opener's connection is not HTTP/2 yet,
///   and libcurl would let a joiner share it anyway (it treats a connection it has seen
///   multiplex before as joinable while it connects).
///
/// A transfer joins when an h2c connection to its origin is open and none is being opened, waits
/// while one is being opened, and opens one otherwise. A joiner that was vetoed (the connection it
/// meant to join was gone, or had all the streams the server allows) opens one, or waits for the
/// one being opened. Sans-IO: `CurlMulti` reports sockets opened and closed, and openers ready or
/// ended, from libcurl's callbacks, and carries the roles out.
struct H2cConnectionTracker {
    /// What a transfer may do with connections.
    enum Role: Equatable {
        /// Prior knowledge on a new connection.
        case opener
        /// HTTP/2 on an existing connection only.
        case joiner
        /// Neither yet: held until the opener of its origin is ready or ends.
        case wait
    }

    /// Sockets libcurl opened for h2c openers, by origin (each is a connection or an attempt).
    private var open: [String: Int] = [:]
    /// Openers that have not sent their request yet, by origin (at most one each).
    private var opening: Set<String> = []
    /// The origin of every socket counted in `open`.
    private var socketOrigin: [Int32: String] = [:]

    /// The role of a transfer about to start towards `origin`. An opener counts as opening until
    /// `openerReady` or `openerEnded`.
    mutating func roleForNewTransfer(origin: String) -> Role {
        if opening.contains(origin) { return .wait }
        if open[origin, default: 0] > 0 { return .joiner }
        opening.insert(origin)
        return .opener
    }

    /// The role of a vetoed joiner started again: it found no connection it could join, so it opens
    /// one, or waits for the one being opened.
    mutating func roleForRestart(origin: String) -> Role {
        if opening.contains(origin) { return .wait }
        opening.insert(origin)
        return .opener
    }

    /// The opener of `origin` is about to send its request on its new connection, which is HTTP/2
    /// from then on: the transfers waiting for it can join it.
    mutating func openerReady(origin: String) {
        opening.remove(origin)
    }

    /// The opener of `origin` ended without getting ready (connect failure, timeout, cancelled).
    mutating func openerEnded(origin: String) {
        opening.remove(origin)
    }

    /// Whether an opener of `origin` has yet to send its request.
    func isOpening(origin: String) -> Bool { opening.contains(origin) }

    /// libcurl opened socket `fd` for an opener to `origin`.
    mutating func socketOpened(fd: Int32, origin: String) {
        open[origin, default: 0] += 1
        socketOrigin[fd] = origin
    }

    /// libcurl closed socket `fd` (a no-op for sockets this tracker did not count).
    mutating func socketClosed(fd: Int32) {
        guard let origin = socketOrigin.removeValue(forKey: fd) else { return }
        let n = open[origin, default: 0] - 1
        open[origin] = n > 0 ? n : nil
    }

    /// Open sockets counted for `origin` (tests).
    func openSockets(origin: String) -> Int { open[origin, default: 0] }

    /// `scheme://host:port` of an absolute URL (the part libcurl's connection cache keys on, as
    /// far as an h2c origin goes): everything before the first `/`, `?` or `#` after `://`.
    static func origin(of url: String) -> String {
        let bytes = Array(url.utf8)
        guard let sep = url.utf8.firstRange(of: "://".utf8) else { return url }
        var end = url.utf8.distance(from: url.utf8.startIndex, to: sep.upperBound)
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: "#") {
            end += 1
        }
        return String(decoding: bytes[0..<end], as: UTF8.self).lowercased()
    }
}
