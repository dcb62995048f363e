internal import GatewayJSON
internal import GatewayIO
internal import GatewayBackend

extension ConfigDecoder {
    /// `io.dns`: how backend host names are resolved. `servers` are IP addresses with an optional
    /// port (a name server named by a host name would need a resolver to be found), `resolvConf` and
    /// `hostsFile` readable files, `minTtlSeconds` ≤ `maxTtlSeconds`.
    mutating func decodeDNS(_ v: JSONValue, _ p: String) -> DNSSettings {
        var d = DNSSettings()
        guard let o = object(v, p, allowed: ["servers", "resolvConf", "hostsFile", "minTtlSeconds", "maxTtlSeconds"]) else { return d }
        if let x = o["servers"], let list = stringArray(x, "\(p).servers") {
            if list.isEmpty, x.arrayValue?.isEmpty == true {
                fail("\(p).servers", "must name at least one server (leave it out to use resolvConf's)")
            }
            for (i, s) in list.enumerated() {
                if let server = Self.nameServer(s) { d.servers.append(server) }
                else { fail("\(p).servers[\(i)]", "not an IP address with an optional port, like 10.0.0.2, 10.0.0.2:53 or [fd00::2]:53: \"\(s)\"") }
            }
        }
        if let x = o["resolvConf"] { d.resolvConf = readableFile(x, "\(p).resolvConf") }
        if let x = o["hostsFile"] { d.hostsFile = readableFile(x, "\(p).hostsFile") }
        if let x = o["minTtlSeconds"], let n = int(x, "\(p).minTtlSeconds", min: 1, max: 86_400) { d.minTtlSeconds = n }
        if let x = o["maxTtlSeconds"], let n = int(x, "\(p).maxTtlSeconds", min: 1, max: 86_400) { d.maxTtlSeconds = n }
        if d.maxTtlSeconds < d.minTtlSeconds {
            fail("\(p).maxTtlSeconds", "must be at least minTtlSeconds (\(d.minTtlSeconds)), got \(d.maxTtlSeconds)")
        }
        return d
    }

    /// A name server in the `ip:port` form c-ares's `ares_set_servers_ports_csv` takes (port 53
    /// when none is given), or nil.
    static func nameServer(_ s: String) -> String? {
        let bare = s.hasPrefix("[") && s.hasSuffix("]") ? String(s.dropFirst().dropLast()) : s
        guard let a = SocketAddress(parsing: s) ?? SocketAddress(parsing: bare.contains(":") ? "[\(bare)]:53" : "\(bare):53"),
              a.port != 0 else { return nil }
        return "\(a)"
    }
}
