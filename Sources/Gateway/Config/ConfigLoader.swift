internal import GatewayJSON
internal import GatewayHTTP1
internal import GatewayIO
#if canImport(Glibc)
internal import Glibc
#endif

extension GatewayConfig {
    /// Reads and validates a config file. Nothing is half-applied: either every key is valid or this
    /// throws with every problem found.
    /// - Parameter environment: variables for `${VAR}` / `${VAR:-default}`; defaults to the process's.
    public static func load(path: String, environment: [String: String]? = nil) throws(ConfigError) -> GatewayConfig {
        guard let bytes = readFile(path) else {
            throw ConfigError(["\(path): cannot read file (\(String(cString: strerror(errno))))"])
        }
        return try parse(bytes, environment: environment ?? ProcessEnvironment.current())
    }

    /// Parses and validates config text.
    public static func parse(_ bytes: [UInt8], environment: [String: String]) throws(ConfigError) -> GatewayConfig {
        let parsed: Result<JSONValue, JSONError> = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) in try JSONValue.parse(raw) }
        }
        let root: JSONValue
        switch parsed {
        case .success(let v):
            root = v
        case .failure(let error):
            let loc = bytes.withUnsafeBytes { error.location(in: $0) }
            throw ConfigError(["line \(loc.line), column \(loc.column): invalid JSON: \(error)"])
        }
        var d = ConfigDecoder(environment: environment)
        let config = d.decodeRoot(root)
        if !d.problems.isEmpty { throw ConfigError(d.problems) }
        guard let config else { throw ConfigError(["internal error: no config and no problem reported"]) }
        return config
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            if n < buf.count { break }
        }
        return ferror(f) == 0 ? out : nil
    }
}

/// The process environment as a dictionary.
public enum ProcessEnvironment {
    /// Reads `environ`.
    public static func current() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                env[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return env
    }
}

/// Walks the JSON tree, collecting every problem with its path instead of stopping at the first.
struct ConfigDecoder {
    let environment: [String: String]
    var problems: [String] = []
    /// The upstream groups decoded so far, by name: their index and whether they retry (routes and
    /// hooks resolve `upstream` against it).
    var upstreamIndex: [String: (index: Int, retries: Bool, endpoints: [String])] = [:]
    /// The distinct paths routes and hooks call on each upstream, numbered in order of appearance
    /// (`UpstreamTarget.pathIndex`).
    var upstreamPaths: [String: [String]] = [:]

    init(environment: [String: String]) {
        self.environment = environment
    }

    mutating func fail(_ path: String, _ message: String) {
        problems.append(path.isEmpty ? message : "\(path): \(message)")
    }

    static func child(_ path: String, _ key: String) -> String {
        let simple = !key.isEmpty && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
        if simple { return path.isEmpty ? key : "\(path).\(key)" }
        var escaped = ""
        for c in key {
            if c == "\"" || c == "\\" { escaped.append("\\") }
            escaped.append(c)
        }
        return "\(path)[\"\(escaped)\"]"
    }

    /// Object members, reporting non-objects, duplicate keys and keys not in `allowed`.
    mutating func object(_ v: JSONValue, _ path: String, allowed: [String]) -> JSONObject? {
        guard let o = v.objectValue else {
            fail(path, "expected an object")
            return nil
        }
        if let dup = o.duplicateKey { fail(Self.child(path, dup), "duplicate key") }
        for key in o.keys where !allowed.contains(key) {
            fail(Self.child(path, key), "unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
        return o
    }

    /// A string with `${VAR}` / `${VAR:-default}` substituted.
    mutating func string(_ v: JSONValue, _ path: String) -> String? {
        guard let s = v.stringValue else {
            fail(path, "expected a string")
            return nil
        }
        return substitute(s, path)
    }

    mutating func substitute(_ s: String, _ path: String) -> String? {
        guard s.contains("${") else { return s }
        var out = ""
        var rest = s[...]
        while let start = Self.find("${", in: rest) {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                fail(path, "unterminated ${ in \"\(s)\"")
                return nil
            }
            let expr = rest[start.upperBound..<end]
            let name: Substring
            var fallback: Substring?
            if let sep = Self.find(":-", in: expr) {
                name = expr[..<sep.lowerBound]
                fallback = expr[sep.upperBound...]
            } else {
                name = expr
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                fail(path, "environment variable \(name) is not set")
                return nil
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return out
    }

    /// The first occurrence of `needle` in `hay` (no Foundation in the core).
    static func find(_ needle: String, in hay: Substring) -> Range<Substring.Index>? {
        var i = hay.startIndex
        while i < hay.endIndex {
            if hay[i...].hasPrefix(needle) { return i..<hay.index(i, offsetBy: needle.count) }
            i = hay.index(after: i)
        }
        return nil
    }

    mutating func int(_ v: JSONValue, _ path: String, min: Int, max: Int = Int.max) -> Int? {
        var value = v.intValue
        if value == nil, let s = v.stringValue {
            guard let sub = substitute(s, path) else { return nil }  // the unset variable is the problem
            value = Int(sub)
        }
        guard let i = value else {
            fail(path, "expected an integer")
            return nil
        }
        guard i >= min && i <= max else {
            fail(path, max == Int.max ? "must be at least \(min)" : "must be between \(min) and \(max)")
            return nil
        }
        return i
    }

    /// `true` or `false` (or a `${VAR}` string that becomes one).
    mutating func bool(_ v: JSONValue, _ path: String) -> Bool? {
        var value = v.boolValue
        if value == nil, let s = v.stringValue {
            guard let sub = substitute(s, path) else { return nil }
            value = Bool(sub)
        }
        guard let b = value else {
            fail(path, "expected true or false")
            return nil
        }
        return b
    }

    mutating func stringArray(_ v: JSONValue, _ path: String) -> [String]? {
        guard let a = v.arrayValue else {
            fail(path, "expected an array of strings")
            return nil
        }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            if let s = string(e, "\(path)[\(i)]") { out.append(s) }
        }
        return out
    }

    mutating func address(_ v: JSONValue, _ path: String) -> SocketAddress? {
        guard let s = string(v, path) else { return nil }
        guard let a = SocketAddress(parsing: s) else {
            fail(path, "not a listen address like 0.0.0.0:8080 or [::1]:8080: \"\(s)\"")
            return nil
        }
        return a
    }

    mutating func url(_ v: JSONValue, _ path: String) -> String? {
        guard let s = string(v, path) else { return nil }
        guard HTTPURL.isValid(s) else {
            fail(path, "not an absolute http(s) URL: \"\(s)\"")
            return nil
        }
        return s
    }
}
