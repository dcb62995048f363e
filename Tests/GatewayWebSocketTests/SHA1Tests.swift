import GatewayWebSocket
import Testing

@Suite struct SHA1Tests {
    @Test(arguments: [
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(hex(SHA1.hash(input.utf8)) == digest)
    }

    @Test func oneMillionA() {
        var sha = SHA1()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { sha.update(chunk) }
        #expect(hex(sha.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func incrementalUpdatesMatchOneShotAcrossBlockBoundaries() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let expected = SHA1.hash(message)
        for split in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 199, 200] {
            var sha = SHA1()
            sha.update(message[..<split])
            sha.update(message[split...])
            #expect(sha.finalize() == expected, "split at \(split)")
        }
        // Messages whose padding needs an extra block.
        for length in 54...66 {
            #expect(SHA1.hash([UInt8](repeating: 0x61, count: length)).count == 20)
        }
    }
}
