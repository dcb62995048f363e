/// A TLS context could not be made: a certificate or key file is missing, unreadable, not PEM, or the
/// key does not match the certificate. Carries OpenSSL's reason so the operator sees which file and why.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being loaded or set up, with OpenSSL's first error, e.g.
    /// `certificate: error:80000002:system library::No such file or directory`.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// Reads the NUL-terminated reason a C shim wrote into `buffer`.
    init(cString buffer: [CChar]) {
        message = String(nulTerminated: buffer)
    }

    /// The message.
    public var description: String { message }
}
