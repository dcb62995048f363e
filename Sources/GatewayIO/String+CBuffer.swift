extension String {
    /// The NUL-terminated text a C function wrote into `buffer` (all of it when there is no NUL),
    /// decoded as UTF-8 with invalid bytes replaced.
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
