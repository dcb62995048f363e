internal import GatewayBuffers
internal import GatewayJSON
public import Logging
#if canImport(Glibc)
internal import Glibc
#endif

/// A `LogHandler` that writes one JSON object per line to standard error: `ts` (UTC, RFC 3339 with
/// milliseconds), `level`, `msg`, and each metadata key at the top level (the handler's own first,
/// then the statement's, which win). Integer metadata values are written as numbers, nested
/// dictionaries and arrays as JSON. Each line is one `write(2)`, so lines from several loops never
/// interleave (POSIX keeps writes of up to `PIPE_BUF` bytes whole on pipes; longer ones are still a
/// single call).
public struct JSONLogHandler: LogHandler {
    /// The logger's label (`gateway`), written as `logger`.
    public let label: String
    public var logLevel: Logger.Level = .notice
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for `label` at `level`.
    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var b = ByteBuffer(capacity: 256)
        Self.format(event: event, label: label, handlerMetadata: metadata, provided: metadataProvider?.get(), into: &b)
        b.withUnsafeReadableBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(2, raw.baseAddress.map { $0 + off }, raw.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    /// The line for `event` (with its newline); separate from `log` so tests can check it.
    static func format(
        event: LogEvent, label: String, handlerMetadata: Logger.Metadata, provided: Logger.Metadata?, into b: inout ByteBuffer,
        now: (seconds: Int, millis: Int) = Self.now()
    ) {
        b.write(string: "{\"ts\":\"")
        writeTimestamp(now, into: &b)
        b.write(string: "\",\"level\":\"")
        b.write(string: event.level.rawValue)
        b.write(string: "\",\"msg\":")
        JSONWriter.writeString(event.message.description, into: &b)
        b.write(string: ",\"logger\":")
        JSONWriter.writeString(label, into: &b)
        var all = handlerMetadata
        if let provided { all.merge(provided) { _, new in new } }
        if let m = event.metadata { all.merge(m) { _, new in new } }
        if let e = event.error {
            all["error"] = .string("\(e)")
        }
        let reserved: Set<String> = ["ts", "level", "msg", "logger"]
        for key in all.keys.sorted() where !reserved.contains(key) {
            guard let value = all[key] else { continue }
            b.write(byte: UInt8(ascii: ","))
            JSONWriter.writeString(key, into: &b)
            b.write(byte: UInt8(ascii: ":"))
            writeValue(value, into: &b)
        }
        b.write(string: "}\n")
    }

    private static func writeValue(_ v: Logger.Metadata.Value, into b: inout ByteBuffer) {
        switch v {
        case .string(let s):
            JSONWriter.writeString(s, into: &b)
        case .stringConvertible(let c):
            if let i = c as? any BinaryInteger {
                b.write(string: "\(i)")
            } else if let f = c as? Double, f.isFinite {
                b.write(string: "\(f)")
            } else if let t = c as? Bool {
                b.write(string: t ? "true" : "false")
            } else {
                JSONWriter.writeString(c.description, into: &b)
            }
        case .dictionary(let d):
            b.write(byte: UInt8(ascii: "{"))
            for (i, key) in d.keys.sorted().enumerated() {
                if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                JSONWriter.writeString(key, into: &b)
                b.write(byte: UInt8(ascii: ":"))
                if let value = d[key] { writeValue(value, into: &b) }
            }
            b.write(byte: UInt8(ascii: "}"))
        case .array(let a):
            b.write(byte: UInt8(ascii: "["))
            for (i, value) in a.enumerated() {
                if i > 0 { b.write(byte: UInt8(ascii: ",")) }
                writeValue(value, into: &b)
            }
            b.write(byte: UInt8(ascii: "]"))
        }
    }

    static func now() -> (seconds: Int, millis: Int) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int(ts.tv_sec), Int(ts.tv_nsec / 1_000_000))
    }

    /// `2026-12-04T01:32:39.123Z`.
    static func writeTimestamp(_ t: (seconds: Int, millis: Int), into b: inout ByteBuffer) {
        var secs = time_t(t.seconds)
        var tm = Glibc.tm()
        gmtime_r(&secs, &tm)
        func two(_ v: Int32) { b.write(byte: UInt8(48 + v / 10)); b.write(byte: UInt8(48 + v % 10)) }
        let year = Int(tm.tm_year) + 1900
        b.write(string: String(year))
        b.write(byte: UInt8(ascii: "-")); two(tm.tm_mon + 1)
        b.write(byte: UInt8(ascii: "-")); two(tm.tm_mday)
        b.write(byte: UInt8(ascii: "T")); two(tm.tm_hour)
        b.write(byte: UInt8(ascii: ":")); two(tm.tm_min)
        b.write(byte: UInt8(ascii: ":")); two(tm.tm_sec)
        b.write(byte: UInt8(ascii: "."))
        b.write(byte: UInt8(48 + t.millis / 100)); b.write(byte: UInt8(48 + (t.millis / 10) % 10)); b.write(byte: UInt8(48 + t.millis % 10))
        b.write(byte: UInt8(ascii: "Z"))
    }
}
