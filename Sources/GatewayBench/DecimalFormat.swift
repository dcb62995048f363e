/// Fixed-point formatting without Foundation (`String(format:)` needs it; the bench does not).
enum DecimalFormat {
    /// `value` with `digits` decimals, rounded half away from zero: `fixed(3.14159, 2)` = `3.14`.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "nan" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return "\(value)" }
        let n = UInt64(scaled)
        let p = UInt64(scale)
        var s = value < 0 && n > 0 ? "-" : ""
        s += "\(n / p)"
        if digits > 0 {
            var frac = String(n % p)
            while frac.count < digits { frac = "0" + frac }
            s += "." + frac
        }
        return s
    }

    /// Nanoseconds as microseconds with one decimal.
    static func us(_ ns: UInt64) -> String { fixed(Double(ns) / 1000, 1) }
}
