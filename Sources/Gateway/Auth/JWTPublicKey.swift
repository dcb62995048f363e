internal import CGatewayShims

/// One public key of `auth.jwt.publicKeys`, loaded once by OpenSSL (the file is read again on
/// SIGHUP with the rest of the config). Immutable after loading, so every loop verifies with it at
/// once (OpenSSL 3 allows concurrent read-only use of an `EVP_PKEY`).
final class JWTPublicKey: @unchecked Sendable, Equatable {
    enum Kind: Equatable {
        case rsa
        /// An EC key on a curve of this many bits (256: P-256, for ES256).
        case ec(bits: Int)
        case other
    }

    private let key: OpaquePointer
    let kind: Kind

    private init(key: OpaquePointer) {
        self.key = key
        var bits: Int32 = 0
        switch cgw_pkey_type(key, &bits) {
        case EVP_PKEY_RSA: kind = .rsa
        case EVP_PKEY_EC: kind = .ec(bits: Int(bits))
        default: kind = .other
        }
    }

    deinit { EVP_PKEY_free(key) }

    static func == (a: JWTPublicKey, b: JWTPublicKey) -> Bool { a === b }

    /// Every `-----BEGIN PUBLIC KEY-----` block of `pem` (at most 64).
    static func load(pem: [UInt8]) -> [JWTPublicKey] {
        var slots = [OpaquePointer?](repeating: nil, count: 64)
        let n = pem.withUnsafeBytes { raw in
            slots.withUnsafeMutableBufferPointer { out in
                cgw_pem_public_keys(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, out.baseAddress, Int32(out.count))
            }
        }
        return slots.prefix(Int(n)).compactMap { $0.map { JWTPublicKey(key: $0) } }
    }

    /// Whether `signature` (as the JWS carries it) signs `data` with SHA-`bits`.
    func verifies(_ signature: UnsafeRawBufferPointer, of data: UnsafeRawBufferPointer, bits: Int) -> Bool {
        cgw_verify_signature(key, Int32(bits), data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                             signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count) == 1
    }
}
