public import GatewayBuffers
internal import GatewayHTTP1

/// Status, headers and body of a backend response.
public struct BackendResponse {
    /// HTTP status code (0 until known).
    public var status: Int = 0
    /// The header fields in arrival order, as `name:value` lines each ending in LF (names are tokens
    /// without a colon, values hold no LF). Bytes rather than Strings: a reply's head is stored
    /// without allocating, and Strings are made only for the fields asked for.
    private var fieldBytes: [UInt8] = []
    /// Fields whose name starts with `Gateway-`: the gateway looks up five of them for every reply, and
    /// most replies have none, so a lookup can then answer without scanning.
    private var gatewayFieldCount = 0
    /// Whether any field's name starts with `Gateway-` (session changes, delivery, close): most
    /// replies have none, and their handling then skips every such lookup.
    public var hasGatewayFields: Bool { gatewayFieldCount > 0 }
    /// Where the first `Content-Type` value lies in `fieldBytes` (read for every reply).
    private var contentTypeRange: Range<Int>?
    /// The body.
    public var body = ByteBuffer()

    /// An empty response (status 0, no fields, no body).
    public init() {}

    /// Response header fields in order; names as sent by the backend. Builds Strings: for the paths
    /// that pass every field on (proxying, the handshake hook), not for per-message lookups.
    public var headers: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        forEachField { name, value in
            out.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            return true
        }
        return out
    }

    /// Appends a field (a status line from an interim response is cleared with `removeAllHeaders`).
    public mutating func appendHeader(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if Self.hasGatewayPrefix(name) { gatewayFieldCount += 1 }
        name.withMemoryRebound(to: UInt8.self) { fieldBytes.append(contentsOf: $0) }
        fieldBytes.append(UInt8(ascii: ":"))
        let start = fieldBytes.count
        value.withMemoryRebound(to: UInt8.self) { fieldBytes.append(contentsOf: $0) }
        if contentTypeRange == nil, Self.sameName(name, "content-type") { contentTypeRange = start..<fieldBytes.count }
        fieldBytes.append(0x0A)
    }

    /// Appends a field given as Strings.
    public mutating func appendHeader(name: String, value: String) {
        var name = name, value = value
        name.withUTF8 { n in value.withUTF8 { v in appendHeader(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
    }

    /// Drops every field (a new header block starts).
    public mutating func removeAllHeaders() {
        fieldBytes.removeAll(keepingCapacity: true)
        gatewayFieldCount = 0
        contentTypeRange = nil
    }

    /// Calls `body` with each field's name and value until it returns false.
    private func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        fieldBytes.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                var colon = start
                while raw[colon] != UInt8(ascii: ":") { colon += 1 }
                var end = colon + 1
                while raw[end] != 0x0A { end += 1 }
                let name = UnsafeRawBufferPointer(rebasing: raw[start..<colon])
                let value = UnsafeRawBufferPointer(rebasing: raw[(colon + 1)..<end])
                if !body(name, value) { return }
                start = end + 1
            }
        }
    }

    /// Calls `body` with the value of the first field named `name` (ASCII case-insensitive); nil
    /// when there is none.
    private func withFirstValue<R>(_ name: String, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        var name = name
        let (isGateway, isContentType) = name.withUTF8 { n in
            (Self.hasGatewayPrefix(UnsafeRawBufferPointer(n)), n.count == 12 && Self.sameName(UnsafeRawBufferPointer(n), "content-type"))
        }
        if gatewayFieldCount == 0 && isGateway { return nil }
        if isContentType, let range = contentTypeRange {
            return fieldBytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
        var result: R?
        forEachField { n, v in
            guard Self.sameName(n, name) else { return true }
            result = body(v)
            return false
        }
        return result
    }

    /// The first value of a header (ASCII case-insensitive), or nil. Allocates only when the field
    /// is present (and its value longer than 15 bytes).
    public func header(_ name: String) -> String? {
        withFirstValue(name) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every value of a header, in order.
    public func values(_ name: String) -> [String] {
        var out: [String] = []
        forEachField { n, v in
            if Self.sameName(n, name) { out.append(String(decoding: v, as: UTF8.self)) }
            return true
        }
        return out
    }

    /// Whether a field name (bytes) is `b`, ignoring ASCII case.
    static func sameName(_ a: UnsafeRawBufferPointer, _ b: String) -> Bool {
        var b = b
        return b.withUTF8 { HTTPHeaders.equalsIgnoringCase(a, UnsafeRawBufferPointer($0)) }
    }

    /// Whether `name` starts with `Gateway-` (any case): one 8-byte load, lower-cased by setting
    /// bit 5 of every byte, compared with `gateway-`. Exact for field names: they are tokens, and the
    /// only other byte that maps to a letter or `-` this way (CR, to `-`) is not a token character.
    /// It runs for every response field and for every lookup (ten per reply); the byte-by-byte
    /// comparison through `String.withUTF8` cost ~60 instructions each.
    @inline(__always)
    static func hasGatewayPrefix(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count >= 8, let base = name.baseAddress else { return false }
        let word = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)) | 0x2020_2020_2020_2020
        return word == 0x2D79_6177_6574_6167  // "gateway-", little-endian
    }

    /// Whether `Content-Type` names JSON (`application/json` or any `…+json`, RFC 6839), checked on the
    /// bytes without building a String (this runs for every reply).
    public var contentTypeIsJSON: Bool {
        withFirstValue("content-type") { ct -> Bool in
            var end = 0
            while end < ct.count, ct[end] != UInt8(ascii: ";") { end += 1 }
            var start = 0
            while start < end, ct[start] == 0x20 || ct[start] == 0x09 { start += 1 }
            while end > start, ct[end - 1] == 0x20 || ct[end - 1] == 0x09 { end -= 1 }
            let type = UnsafeRawBufferPointer(rebasing: ct[start..<end])
            if Self.sameName(type, "application/json") { return true }
            return type.count > 5 && Self.sameName(UnsafeRawBufferPointer(rebasing: type[(type.count - 5)...]), "+json")
        } ?? false
    }

    mutating func reset() {
        status = 0
        removeAllHeaders()
        if fieldBytes.capacity > 16 * 1024 { fieldBytes = [] }
        body.clear()
        body.releaseCapacityIfEmpty(above: 64 * 1024)
    }
}

extension BackendResponse {
    /// Whether the `Content-Length` fields disagree (`5` and `6`, or `5, 6`): invalid framing
    /// (RFC 9112 §6.3) that libcurl would accept. Identical repeats are fine.
    var hasConflictingContentLength: Bool {
        var seen: String?
        for value in values("content-length") {
            for part in value.split(separator: ",") {
                let trimmed = part.trimmingOWS()
                if let s = seen, s != trimmed { return true }
                seen = trimmed
            }
        }
        return false
    }
}
