/// Decides, for libcurl before 8.0, which h2c transfers may ask for prior knowledge.
///
/// Those versions (Debian 12 ships 7.88.1) break prior knowledge on a reused connection: the
/// transfer stacks a second HTTP/2 layer on the connection and fails with "Error in the HTTP2
/// framing layer" (curl issue 10634, fixed in 8.0.0). So every h2c call but the first on a
/// connection would fail. The work-around gives each transfer one of two roles:
/// - an **opener** asks for prior knowledge (`CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE`) and a fresh
///   connection (`CURLOPT_FRESH_CONNECT`), so it never reuses one;
/// - a **joiner** asks for plain HTTP/2 (`CURL_HTTP_VERSION_2_0`), which on an HTTP/2 connection
///   just adds a stream, and must never open a connection (it would send an HTTP/1.1 `Upgrade:
///   h2c` request, which prior-knowledge backends do not accept): its open-socket callback is
///   vetoed, and the transfer is started again as an opener (nothing was sent).
///
/// A transfer joins when an h2c connection to its origin is open or being opened, and opens one
/// otherwise. Sans-IO: `CurlMulti` reports sockets opened and closed by libcurl's callbacks, and
/// applies the roles.
struct H2cConnectionTracker {
    /// What a transfer is allowed to do with connections.
    enum Role: Equatable {
        /// Prior knowledge on a new connection.
        case opener
        /// HTTP/2 on an existing connection only.
        case joiner
    }

    /// Sockets libcurl opened for h2c openers, by origin (each is a connection or an attempt).
    private var open: [String: Int] = [:]
    /// Openers started that have not opened their socket yet, by origin: a burst of calls made in
    /// one tick must make one connection, not one each.
    private var opening: [String: Int] = [:]
    /// The origin of every socket counted in `open`.
    private var socketOrigin: [Int32: String] = [:]

    /// The role of a transfer about to start towards `origin`; an opener counts as opening until
    /// `socketOpened` or `openerEnded`.
    mutating func roleForNewTransfer(origin: String) -> Role {
        if open[origin, default: 0] > 0 || opening[origin, default: 0] > 0 { return .joiner }
        opening[origin, default: 0] += 1
        return .opener
    }

    /// A transfer that was vetoed as a joiner starts again as an opener (it found no connection).
    mutating func promoteToOpener(origin: String) {
        opening[origin, default: 0] += 1
    }

    /// libcurl opened socket `fd` for an opener to `origin`. `firstForTransfer`: the transfer's
    /// first socket (later ones are more addresses of the same name), which ends its "opening".
    mutating func socketOpened(fd: Int32, origin: String, firstForTransfer: Bool) {
        if firstForTransfer { decrementOpening(origin) }
        open[origin, default: 0] += 1
        socketOrigin[fd] = origin
    }

    /// An opener ended without opening a socket (cancelled, timed out while queued).
    mutating func openerEnded(origin: String) {
        decrementOpening(origin)
    }

    /// libcurl closed socket `fd` (a no-op for sockets this tracker did not count).
    mutating func socketClosed(fd: Int32) {
        guard let origin = socketOrigin.removeValue(forKey: fd) else { return }
        let n = open[origin, default: 0] - 1
        open[origin] = n > 0 ? n : nil
    }

    /// Open sockets counted for `origin` (tests, metrics).
    func openSockets(origin: String) -> Int { open[origin, default: 0] }

    private mutating func decrementOpening(_ origin: String) {
        let n = opening[origin, default: 0] - 1
        opening[origin] = n > 0 ? n : nil
    }

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
