import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A `redis-server` started by a test on a free loopback port (never a system service), with no
/// persistence; killed when the test is done. `kill()` + `start()` restarts it on the same port.
final class RedisServer: @unchecked Sendable {
    // @unchecked: used from the test's thread only; loops never touch it.
    let port: UInt16
    let extraArguments: [String]
    private var pid: pid_t = 0

    /// The binary, or nil when redis-server is not installed (the Redis tests are skipped then).
    static let binary: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        .first { access($0, X_OK) == 0 }

    /// Starts a server; `arguments` are extra `--option value` pairs (e.g. `--requirepass`).
    init(arguments: [String] = []) throws {
        port = try Self.freePort()
        extraArguments = arguments
        try start()
    }

    deinit { kill() }

    /// `redis://127.0.0.1:PORT` plus `suffix` (e.g. `/3`), with `userInfo` before the host.
    func url(userInfo: String = "", path: String = "") -> String {
        "redis://\(userInfo)127.0.0.1:\(port)\(path)"
    }

    /// Starts the process and waits until it accepts connections.
    func start() throws {
        guard let binary = Self.binary else { throw Failure("redis-server is not installed") }
        let args = [binary, "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "no", "--loglevel", "warning", "--logfile", ""] + extraArguments
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var child: pid_t = 0
        let r = posix_spawn(&child, binary, &actions, nil, &argv, environ)
        guard r == 0 else { throw Failure("posix_spawn redis-server: errno \(r)") }
        pid = child
        for _ in 0..<500 {
            if Self.canConnect(port: port) { return }
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child {
                pid = 0
                throw Failure("redis-server exited at start (status \(status))")
            }
            usleep(10_000)
        }
        kill()
        throw Failure("redis-server did not listen on port \(port) within 5 s")
    }

    /// SIGKILL, as a crash would; waits for the process to be gone.
    func kill() {
        guard pid > 0 else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    private static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func freePort() throws -> UInt16 {
        let (fd, port) = try boundLoopbackSocket()
        close(fd)
        return port
    }

    /// A TCP socket bound to a free port on 127.0.0.1 (not listening yet), and that port.
    static func boundLoopbackSocket() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else {
            close(fd)
            throw Failure("no free port")
        }
        return (fd, UInt16(bigEndian: sin.sin_port))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
