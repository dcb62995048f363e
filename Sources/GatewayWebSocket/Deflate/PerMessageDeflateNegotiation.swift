internal import GatewayHTTP1

/// What the gateway allows of permessage-deflate (RFC 7692), from `modules[].compression`.
public struct PerMessageDeflatePolicy: Sendable, Equatable {
    /// Whether sliding windows survive between messages. Off by default (DESIGN §9): then neither
    /// side keeps one, so no zlib state is held per idle connection and a fan-out frame can be
    /// compressed once for every recipient.
    public var contextTakeover: Bool
    /// The largest LZ77 window either side may use, 9–15 (zlib's raw deflate cannot do 8).
    public var maxWindowBits: Int

    /// Creates a policy. Defaults: no context takeover (DESIGN §9's default, for the reason above)
    /// and 15 window bits (the best ratio; the window is per loop then, not per connection).
    /// `maxWindowBits` is clamped to 9–15.
    public init(contextTakeover: Bool = false, maxWindowBits: Int = 15) {
        self.contextTakeover = contextTakeover
        self.maxWindowBits = min(15, max(9, maxWindowBits))
    }
}

/// The parameters both sides use after the handshake, and the response header that says so.
public struct PerMessageDeflateParameters: Sendable, Equatable {
    /// The server resets its compressor after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after every message (so one inflater can serve many).
    public var clientNoContextTakeover: Bool
    /// The server compresses with at most this window.
    public var serverMaxWindowBits: Int
    /// The client compresses with at most this window: the inflater needs at least this.
    public var clientMaxWindowBits: Int
    /// The `Sec-WebSocket-Extensions` value of the 101.
    public var responseHeader: String
}

/// Sans-IO negotiation of permessage-deflate (RFC 7692 §5 and §7): reads a handshake's
/// `Sec-WebSocket-Extensions` offers, accepts the first one the gateway can honour, and says with
/// what. Offers it cannot honour are declined, never answered with something else: a parameter
/// twice, an unknown parameter, a value where none belongs or a bad one,
/// `server_max_window_bits=8` (zlib's raw deflate has no 256-byte window), and, with context
/// takeover and a policy window under 15 bits, an offer without `client_max_window_bits` (the
/// client would then keep a 15-bit window the gateway would have to mirror per connection, §7.1.2.2).
///
/// Without context takeover in the policy, the response always carries `server_no_context_takeover`
/// and `client_no_context_takeover`; the latter is allowed in answer to any offer (§7.1.1.2) and
/// is what lets one decompressor per event loop serve every connection.
public enum PerMessageDeflateNegotiation {
    /// The extension token in `Sec-WebSocket-Extensions` (RFC 7692 §7).
    public static let extensionName = "permessage-deflate"

    /// The accepted parameters, or nil when no offer is acceptable (the connection then goes on
    /// without compression).
    public static func negotiate(_ headerValues: [String], policy: PerMessageDeflatePolicy) -> PerMessageDeflateParameters? {
        for value in headerValues {
            for offer in split(value, on: ",") {
                var parts = split(offer, on: ";").map(trim)
                guard let name = parts.first, name.lowercased() == extensionName else { continue }
                parts.removeFirst()
                if let accepted = accept(parts, policy: policy) { return accepted }
            }
        }
        return nil
    }

    private static func accept(_ params: [Substring], policy: PerMessageDeflatePolicy) -> PerMessageDeflateParameters? {
        var seen: Set<String> = []
        var serverNoCT = false, clientNoCT = false
        var serverBits: Int?, clientBits: Int?, clientBitsOffered = false
        for p in params {
            let kv = p.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = trim(kv[0]).lowercased()
            var value: Substring?
            if kv.count == 2 {
                var v = trim(kv[1])
                if v.hasPrefix("\"") {
                    guard v.count >= 2, v.hasSuffix("\"") else { return nil }
                    v = v.dropFirst().dropLast()
                }
                value = v
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                serverNoCT = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                clientNoCT = true
            case "server_max_window_bits":
                guard let v = value, let bits = windowBits(v), bits >= 9 else { return nil }
                serverBits = bits
            case "client_max_window_bits":
                clientBitsOffered = true
                if let v = value {
                    guard let bits = windowBits(v) else { return nil }
                    clientBits = bits
                }
            default:
                return nil
            }
        }
        // The client's window then outlives each message and has to be mirrored per connection: only
        // when it is bounded by the policy, or the policy allows the full 15 bits (§7.1.2.2).
        if policy.contextTakeover && !clientNoCT && !clientBitsOffered && policy.maxWindowBits < 15 { return nil }
        let serverNoContextTakeover = serverNoCT || !policy.contextTakeover
        let clientNoContextTakeover = clientNoCT || !policy.contextTakeover
        let serverWindow = min(policy.maxWindowBits, serverBits ?? 15)
        // Without client_max_window_bits in the offer the response must not name it (§7.1.2.2):
        // the client may then use 15, and the inflater is sized for that.
        var clientWindow = 15
        if clientBitsOffered { clientWindow = min(policy.maxWindowBits, clientBits ?? 15) }
        var header = extensionName
        if serverNoContextTakeover { header += "; server_no_context_takeover" }
        if clientNoContextTakeover { header += "; client_no_context_takeover" }
        if serverBits != nil || serverWindow < 15 { header += "; server_max_window_bits=\(serverWindow)" }
        if clientBitsOffered && (clientBits != nil || clientWindow < 15) { header += "; client_max_window_bits=\(clientWindow)" }
        return PerMessageDeflateParameters(
            serverNoContextTakeover: serverNoContextTakeover, clientNoContextTakeover: clientNoContextTakeover,
            serverMaxWindowBits: serverWindow, clientMaxWindowBits: clientWindow, responseHeader: header)
    }

    /// 8–15 written as a plain decimal (no sign, no leading zero).
    private static func windowBits(_ v: Substring) -> Int? {
        guard (1...2).contains(v.count), v.first != "0", v.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(v),
              (8...15).contains(n) else { return nil }
        return n
    }

    /// Splits on `separator` outside quoted strings.
    private static func split(_ s: some StringProtocol, on separator: Character) -> [Substring] {
        let text = Substring(s)
        var out: [Substring] = []
        var start = text.startIndex, quoted = false, escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if escaped { escaped = false } else if quoted && c == "\\" { escaped = true } else if c == "\"" { quoted.toggle() }
            else if c == separator && !quoted {
                out.append(text[start..<i])
                start = text.index(after: i)
            }
            i = text.index(after: i)
        }
        out.append(text[start...])
        return out.filter { !trim($0).isEmpty }
    }

    /// Without HTTP's optional whitespace (the one trimmer, `trimmingOWS`).
    private static func trim(_ s: Substring) -> Substring { Substring(s.trimmingOWS()) }
}
