internal import GatewayBuffers
internal import GatewayWebSocket

/// The client side of the opening handshake (RFC 6455 §4.1): the `GET` request, with a fresh random
/// `Sec-WebSocket-Key` per connection, and the check of the server's `101` response.
///
/// The request is pre-rendered around the key, so writing one costs two copies and a base64 of 16
/// bytes. The expected `Sec-WebSocket-Accept` is computed once per handshake.
struct UpgradeRequest: Sendable {
    private let head: [UInt8]
    private let tail: [UInt8]

    /// Builds the request for `url` with extra `headers` (`Name: value`).
    init(url: BenchURL, headers: [String]) {
        head = Array("GET \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ".utf8)
        var t = "\r\n"
        for h in headers { t += h + "\r\n" }
        t += "\r\n"
        tail = Array(t.utf8)
    }

    /// Writes a request with a key made of `random`'s bits; returns the expected accept value.
    func write(random: inout FastRandom, into buffer: inout ByteBuffer) -> String {
        let a = random.next(), b = random.next()
        var keyBytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            keyBytes[i] = UInt8(truncatingIfNeeded: a >> (UInt64(i) * 8))
            keyBytes[8 + i] = UInt8(truncatingIfNeeded: b >> (UInt64(i) * 8))
        }
        let key = Self.base64(keyBytes)
        head.withUnsafeBytes { buffer.write($0) }
        buffer.write(string: key)
        tail.withUnsafeBytes { buffer.write($0) }
        return WebSocketHandshake.acceptValue(forKey: key)
    }

    /// The outcome of reading the server's response.
    enum Verdict: Equatable {
        /// The head is not complete yet.
        case incomplete
        /// `101` with the right accept value; the head was `headLength` bytes long.
        case accepted(headLength: Int)
        /// Anything else: the status (0 if unreadable) and why.
        case rejected(status: Int, reason: String)
    }

    /// Largest response head accepted.
    static let maxResponseHead = 65_536

    /// Checks a response head collected in `bytes` (RFC 6455 §4.1, items 1–4 of the client's checks:
    /// status 101, the accept value; `Upgrade`/`Connection` are not re-checked, as in wsload).
    static func verify(_ bytes: UnsafeRawBufferPointer, expectedAccept: String) -> Verdict {
        guard let end = headEnd(bytes) else {
            return bytes.count > maxResponseHead ? .rejected(status: 0, reason: "response head larger than 64 KiB") : .incomplete
        }
        let head = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
        var status = 0
        if head.count >= 12, head.starts(with: "HTTP/1.".utf8) {
            for i in 9..<12 {
                let d = head[i]
                guard d >= 48, d <= 57 else { status = 0; break }
                status = status * 10 + Int(d - 48)
            }
        }
        guard status == 101 else {
            return .rejected(status: status, reason: "handshake answered with HTTP status \(status)")
        }
        var accepted = false
        var lineStart = 0
        for i in 0..<max(0, head.count - 1) where head[i] == 13 && head[i + 1] == 10 {
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<i])
            lineStart = i + 2
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
            guard asciiEqualsIgnoringCase(name, "sec-websocket-accept") else { continue }
            var v = UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])[...]
            while let f = v.first, f == 32 || f == 9 { v = v.dropFirst() }
            while let l = v.last, l == 32 || l == 9 { v = v.dropLast() }
            accepted = v.elementsEqual(expectedAccept.utf8)
        }
        return accepted ? .accepted(headLength: end) : .rejected(status: 101, reason: "missing or wrong Sec-WebSocket-Accept")
    }

    /// Length of the head including the blank line, if `\r\n\r\n` is present.
    static func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func asciiEqualsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lower: String) -> Bool {
        guard bytes.count == lower.utf8.count else { return false }
        return zip(bytes, lower.utf8).allSatisfy { a, b in (a | 0x20) == b || a == b }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding.
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
