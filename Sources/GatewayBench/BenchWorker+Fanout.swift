internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

extension BenchWorker {
    /// Scans a subscriber's message for TS markers (several per message are allowed) and records
    /// publish → receipt latency for each one that belongs to a measured publish.
    @inline(__always)
    func scanMarkers(_ payload: UnsafeRawBufferPointer, now: UInt64) {
        guard let base = payload.baseAddress, let log = publishLog else { return }
        let count = payload.count
        let marker = Template.markerLength
        var found = false
        var i = 0
        let phase = control.phase
        while i + marker <= count {
            guard let hit = memchr(base + i, Int32(UInt8(ascii: "T")), count - i - (marker - 1)) else { break }
            let k = UnsafeRawPointer(hit) - base
            if payload[k + 1] == UInt8(ascii: "S"), let ts = Self.digits(payload, at: k + 2) {
                found = true
                stats.deliveries &+= 1
                let lat = now > ts ? now - ts : 0
                if let p = log.index(of: ts) {
                    if log.isMeasured(p) {
                        if phase == .close {
                            stats.late &+= 1
                        } else {
                            stats.receivedMeasured &+= 1
                            latency.record(lat)
                            publishGot[p] &+= 1
                            if lat > publishLastDelivery[p] { publishLastDelivery[p] = lat }
                            control.measuredDeliveries.add(1, ordering: .relaxed)
                        }
                    }
                } else {
                    stats.unknownTimestamp &+= 1
                }
                i = k + marker
                continue
            }
            i = k + 1
        }
        if !found { stats.noTimestamp &+= 1 }
    }

    /// The 19 digits of a marker starting at `offset`, or nil if any is not a digit.
    @inline(__always)
    static func digits(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        var v: UInt64 = 0
        for j in 0..<Template.timestampDigits {
            let d = bytes[offset + j] &- 48
            guard d < 10 else { return nil }
            v = v &* 10 &+ UInt64(d)
        }
        return v
    }
}
