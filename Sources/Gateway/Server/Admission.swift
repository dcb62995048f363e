internal import CGatewayShims
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
        /// Most connections at once since memory was last handed back (see `release`).
        var peakSinceTrim = 0
        var trims = 0
    }
    /// A drop from at least this many connections can hand memory back.
    static let trimPeak = 1024
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
        // One hash of the address per accept where it has connections already, two where not
        // (the lookup, then the insert); the address is hashed with SipHash, ~300 instructions.
        return state.withLock { s -> String? in
            if s.total >= maxTotal { return "too many connections" }
            let index = s.perIP.index(forKey: ip)
            if limits.maxConnectionsPerIP > 0, let index, s.perIP.values[index] >= limits.maxConnectionsPerIP {
                return "too many connections from this address"
            }
            s.total += 1
            s.peakSinceTrim = max(s.peakSinceTrim, s.total)
            if let index { s.perIP.values[index] += 1 } else { s.perIP[ip] = 1 }
            return nil
        }
    }

    /// Forgets a connection counted by `admit`.
    ///
    /// When the count falls to a quarter of a peak of at least `trimPeak` connections, the freed
    /// memory is handed back to the kernel (`malloc_trim`). glibc otherwise keeps it in the loop
    /// threads' arenas for reuse, so after a spike of 15,000 connections RSS stayed about 18 MiB above
    /// its baseline for good (the soak test). The trim takes a few milliseconds on the closing loop,
    /// and happens once per such drop.
    func release(ip: String) {
        let trim = state.withLock { s -> Bool in
            s.total -= 1
            if let index = s.perIP.index(forKey: ip) {
                if s.perIP.values[index] <= 1 { s.perIP.remove(at: index) } else { s.perIP.values[index] -= 1 }
            }
            guard s.peakSinceTrim >= Self.trimPeak, s.total <= s.peakSinceTrim / 4 else { return false }
            s.peakSinceTrim = s.total
            s.trims += 1
            return true
        }
        if trim { _ = malloc_trim(0) }
    }

    /// How many times memory was handed back after a drop in connections.
    var trims: Int { state.withLock { $0.trims } }

    /// Connections counted now.
    var current: Int { state.withLock { $0.total } }
}
