import GatewayIO
import Testing

@Suite struct SocketAddressTests {
    @Test("IPv4 host strings are dotted decimal without leading zeros", arguments: [
        ((0, 0, 0, 0), "0.0.0.0"),
        ((127, 0, 0, 1), "127.0.0.1"),
        ((10, 9, 99, 100), "10.9.99.100"),
        ((255, 255, 255, 255), "255.255.255.255"),
        ((1, 20, 200, 101), "1.20.200.101"),
    ] as [((UInt8, UInt8, UInt8, UInt8), String)])
    func ipv4HostString(octets: (UInt8, UInt8, UInt8, UInt8), expected: String) {
        let address = SocketAddress(host: .v4(octets.0, octets.1, octets.2, octets.3), port: 80)
        #expect(address.hostString == expected)
        #expect(address.description == expected + ":80")
        #expect(SocketAddress(parsing: address.description) == address)
    }

    @Test func ipv6HostString() {
        let loopback = SocketAddress(host: .v6([UInt8](repeating: 0, count: 15) + [1]), port: 443)
        #expect(loopback.hostString == "::1")
        #expect(loopback.description == "[::1]:443")
    }
}
