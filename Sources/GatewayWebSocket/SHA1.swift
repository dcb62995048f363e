internal import CGatewayShims

/// SHA-1 (FIPS 180-4 §6.1), only for the opening handshake's `Sec-WebSocket-Accept` (RFC 6455 §4.2.2).
///
/// SHA-1 is broken for collision resistance, which does not matter here: the handshake uses it only
/// to prove that the server understood the WebSocket request. It runs once per connection, through
/// OpenSSL's block functions (SHA-NI or AVX2 assembly): the portable Swift version it replaced cost
/// ~7,500 instructions per handshake, an eighth of all the gateway does for one (callgrind, S5).
package struct SHA1 {
    private var ctx = SHA_CTX()

    /// A hash of the empty message, ready for `update`.
    package init() {
        cgw_sha1_init(&ctx)
    }

    /// The digest of `bytes` in one call.
    package static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// Adds message bytes.
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) != nil { return }
        let copy = Array(bytes)
        copy.withUnsafeBytes { update($0) }
    }

    /// Adds message bytes from contiguous memory.
    package mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        cgw_sha1_update(&ctx, base, raw.count)
    }

    /// Pads the message and returns the 20-byte digest. The hasher must not be used afterwards.
    package mutating func finalize() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { out, n in
            cgw_sha1_final(&ctx, out.baseAddress)
            n = 20
        }
    }

    /// Pads the message and writes the 20-byte digest to `out`, which must have room for it (no
    /// array for the one digest a handshake needs). The hasher must not be used afterwards.
    package mutating func finalize(into out: UnsafeMutableRawPointer) {
        cgw_sha1_final(&ctx, out.assumingMemoryBound(to: UInt8.self))
    }
}
