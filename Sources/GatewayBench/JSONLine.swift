/// Builds one flat JSON object, key by key, in the order given (wsload's order where it applies).
struct JSONLine {
    private var fields: [String] = []

    /// The object.
    var text: String { "{" + fields.joined(separator: ",") + "}" }

    mutating func add(_ key: String, _ value: String) {
        fields.append("\"\(key)\":\(Self.quote(value))")
    }

    mutating func add(_ key: String, _ value: some BinaryInteger) {
        fields.append("\"\(key)\":\(value)")
    }

    mutating func add(_ key: String, _ value: Double, digits: Int = 1) {
        fields.append("\"\(key)\":" + (value.isFinite ? DecimalFormat.fixed(value, digits) : "null"))
    }

    mutating func add(_ key: String, _ value: Bool) {
        fields.append("\"\(key)\":\(value)")
    }

    /// Percentiles in microseconds: p50/p90/p99/p999/max, or p50/p99/max when `short`.
    mutating func add(_ key: String, histogram h: LatencyHistogram, short: Bool = false) {
        func us(_ ns: UInt64) -> String { DecimalFormat.us(ns) }
        let body = short
            ? "\"p50\":\(us(h.percentile(50))),\"p99\":\(us(h.percentile(99))),\"max\":\(us(h.max))"
            : "\"p50\":\(us(h.percentile(50))),\"p90\":\(us(h.percentile(90))),\"p99\":\(us(h.percentile(99))),\"p999\":\(us(h.percentile(99.9))),\"max\":\(us(h.max))"
        fields.append("\"\(key)\":{\(body)}")
    }

    /// Adds an already-encoded JSON value.
    mutating func addRaw(_ key: String, _ json: String) {
        fields.append("\"\(key)\":\(json)")
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { let hex = String(u.value, radix: 16); out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
