import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 server on loopback, one thread per connection, for testing the backend
/// client against real sockets and real libcurl. Routes:
/// `/echo` (body back, same content type), `/status/N`, `/delay/MS`, `/garbage` (not HTTP),
/// `/reset` (closes without answering), `/big/N` (N bytes), `/headers` (sets Gateway-* headers).
final class TinyHTTPServer: @unchecked Sendable {
    // @unchecked: `fd` and `port` are written once in init; `requests` is behind a Mutex.
    let fd: Int32
    let port: UInt16
    let requests = Mutex<[String]>([])

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 128)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: sin.sin_port)
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        pthread_create(&tid, nil, { arg in
            let server = Unmanaged<TinyHTTPServer>.fromOpaque(arg!).takeRetainedValue()
            server.acceptLoop()
            return nil
        }, box.toOpaque())
        pthread_detach(tid)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR { continue } else { return } }
            let box = Unmanaged.passRetained(ConnectionBox(server: self, fd: c))
            var tid = pthread_t()
            pthread_create(&tid, nil, { arg in
                let b = Unmanaged<ConnectionBox>.fromOpaque(arg!).takeRetainedValue()
                b.server.serve(b.fd)
                return nil
            }, box.toOpaque())
            pthread_detach(tid)
        }
    }

    final class ConnectionBox {
        let server: TinyHTTPServer
        let fd: Int32
        init(server: TinyHTTPServer, fd: Int32) { self.server = server; self.fd = fd }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buf = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Read a head.
            var headEnd: Int?
            while headEnd == nil {
                if let r = find(buf, [13, 10, 13, 10]) { headEnd = r; break }
                let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buf += chunk[0..<n]
            }
            guard let he = headEnd else { return }
            let head = String(decoding: buf[0..<he], as: UTF8.self)
            buf.removeFirst(he + 4)
            let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let requestLine = lines.first.map(String.init) ?? ""
            var contentLength = 0
            var contentType = "application/octet-stream"
            var headers: [String] = []
            for l in lines.dropFirst() {
                headers.append(String(l))
                let parts = l.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].lowercased()
                let value = parts[1].trimmingCharacters(in: " ")
                if name == "content-length" { contentLength = Int(value) ?? 0 }
                if name == "content-type" { contentType = value }
            }
            while buf.count < contentLength {
                let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buf += chunk[0..<n]
            }
            let body = Array(buf[0..<contentLength])
            buf.removeFirst(contentLength)
            requests.withLock { $0.append(requestLine + "\n" + headers.joined(separator: "\n")) }
            let path = requestLine.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            if path == "/garbage" {
                sendAll(c, Array("this is not http\r\n\r\n".utf8))
                return
            }
            if path == "/reset" { return }
            var status = 200
            var respBody = body
            var extra = ""
            var ct = contentType
            if path.hasPrefix("/status/") { status = Int(path.dropFirst(8)) ?? 500; respBody = Array("{\"status\":\(status)}".utf8); ct = "application/json" }
            if path.hasPrefix("/delay/") { usleep(UInt32((Int(path.dropFirst(7)) ?? 0) * 1000)); respBody = Array("{\"ok\":true}".utf8); ct = "application/json" }
            if path.hasPrefix("/big/") { respBody = Array(repeating: UInt8(ascii: "x"), count: Int(path.dropFirst(5)) ?? 0); ct = "text/plain" }
            if path == "/headers" { extra = "Gateway-Join: a,b\r\nGateway-Set-User: u1\r\n" }
            let resp = "HTTP/1.1 \(status) X\r\nContent-Type: \(ct)\r\nContent-Length: \(respBody.count)\r\n\(extra)\r\n"
            sendAll(c, Array(resp.utf8) + respBody)
        }
    }

    private func sendAll(_ c: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(c, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    private func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
