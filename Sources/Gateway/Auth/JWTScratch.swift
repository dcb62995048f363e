internal import CGatewayShims
internal import GatewayWebSocket

/// What `JWTVerifier` reuses from one handshake to the next on a loop, so that checking a token
/// allocates nothing but the claims it returns: buffers for a percent-decoded query token and for
/// the decoded parts, and HMAC contexts keyed once per secret (OpenSSL's one-shot `HMAC()` fetches
/// the algorithm and sets the key up again at every call, which cost more than the hashing).
///
/// One per loop (`LoopContext.jwt`), touched only from its thread; tests make their own.
final class JWTScratch {
    /// A token taken from the query, percent-decoded; grows to the longest query seen.
    private(set) var query: UnsafeMutableRawBufferPointer
    /// The decoded header, signature and payload of the token being checked, then the HMAC.
    let parts: UnsafeMutableRawBufferPointer
    /// OpenSSL's HMAC, fetched once.
    private var mac: OpaquePointer?
    /// Contexts keyed with a module's secret, for one SHA-2 size each. A reload that changes the
    /// secret adds one; the oldest goes beyond `maxKeyed`.
    private var keyed: [(key: [UInt8], bits: Int, ctx: OpaquePointer)] = []
    private static let maxKeyed = 8

    /// Room for the three decoded parts of the longest token accepted, and the largest HMAC.
    static let partsCapacity = Base64.decodedCapacity(ofURL: JWTVerifier.maxTokenBytes) + 4 + Int(EVP_MAX_MD_SIZE)

    init() {
        query = .allocate(byteCount: 512, alignment: 8)
        parts = .allocate(byteCount: Self.partsCapacity, alignment: 8)
    }

    deinit {
        for k in keyed { EVP_MAC_CTX_free(k.ctx) }
        if let mac { EVP_MAC_free(mac) }
        query.deallocate()
        parts.deallocate()
    }

    /// `query` with at least `count` bytes (its contents are not kept when it grows).
    func queryBuffer(atLeast count: Int) -> UnsafeMutableRawBufferPointer {
        if query.count < count {
            query.deallocate()
            query = .allocate(byteCount: max(count, 2 * query.count), alignment: 8)
        }
        return query
    }

    /// HMAC-SHA-`bits` of `data` with `key` into `out` (at least `EVP_MAX_MD_SIZE` bytes).
    /// - Returns: the MAC's length, or nil when OpenSSL fails.
    func hmac(bits: Int, key: [UInt8], data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let ctx = context(bits: bits, key: key),
              EVP_MAC_init(ctx, nil, 0, nil) == 1,  // back to the keyed state: OpenSSL keeps the key
              EVP_MAC_update(ctx, data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count) == 1
        else { return nil }
        var length = 0
        guard EVP_MAC_final(ctx, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, out.count) == 1 else { return nil }
        return length
    }

    /// The context keyed with `key` for SHA-`bits`, made on first use.
    private func context(bits: Int, key: [UInt8]) -> OpaquePointer? {
        // `==` on arrays that share storage (the settings' own secret) is one pointer comparison.
        for k in keyed where k.bits == bits && k.key == key { return k.ctx }
        if mac == nil { mac = EVP_MAC_fetch(nil, "HMAC", nil) }
        guard let mac, let ctx = EVP_MAC_CTX_new(mac) else { return nil }
        let digest: StaticString = switch bits {
        case 256: "SHA256"
        case 384: "SHA384"
        default: "SHA512"
        }
        // OSSL_PARAM keeps these pointers: static strings, valid for the whole process.
        let name: StaticString = "digest"
        var params = [
            OSSL_PARAM_construct_utf8_string(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
                                             UnsafeMutablePointer(mutating: UnsafeRawPointer(digest.utf8Start).assumingMemoryBound(to: CChar.self)), 0),
            OSSL_PARAM_construct_end(),
        ]
        // A non-null key pointer even for an empty secret: NULL would mean "keep the current key".
        let keyedOK = key.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
                EVP_MAC_init(ctx, k.baseAddress ?? UnsafePointer(empty.baseAddress), k.count, &params) == 1
            }
        }
        guard keyedOK else {
            EVP_MAC_CTX_free(ctx)
            return nil
        }
        if keyed.count == Self.maxKeyed { EVP_MAC_CTX_free(keyed.removeFirst().ctx) }
        keyed.append((key: key, bits: bits, ctx: ctx))
        return ctx
    }
}
