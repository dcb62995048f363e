internal import GatewayIO
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Counts client connections across all loops and refuses new ones beyond `maxConnections` or
/// `maxConnectionsPerIP`. One short critical section per accept and per close.
final class Admission: Sendable {
    private struct State {
        var total = 0
        var perIP: [String: Int] = [:]
    }
    private let state = Locked(State())
    /// 90 % of the open-file limit: what `maxConnections: 0` means.
    let automaticLimit: Int

    init() {
        var rl = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
        let soft = rl.rlim_cur > 1 << 30 ? 1_048_576 : Int(rl.rlim_cur)  // RLIM_INFINITY is all ones
        automaticLimit = max(64, soft * 9 / 10)
    }

    /// Counts a new connection, or returns why it is refused (then nothing is counted).
    func admit(ip: String, limits: Limits) -> String? {
        let maxTotal = limits.maxConnections > 0 ? limits.maxConnections : automaticLimit
        return state.withLock { s -> String? in
            if s.total >= maxTotal { return "too many connections" }
            if limits.maxConnectionsPerIP > 0, (s.perIP[ip] ?? 0) >= limits.maxConnectionsPerIP {
                return "too many connections from this address"
            }
            s.total += 1
            s.perIP[ip, default: 0] += 1
            return nil
        }
    }

    /// Forgets a connection counted by `admit`.
    func release(ip: String) {
        state.withLock { s in
            s.total -= 1
            if let n = s.perIP[ip] {
                if n <= 1 { s.perIP[ip] = nil } else { s.perIP[ip] = n - 1 }
            }
        }
    }

    /// Connections counted now.
    var current: Int { state.withLock { $0.total } }
}
