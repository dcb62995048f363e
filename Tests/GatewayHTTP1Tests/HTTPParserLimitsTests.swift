import GatewayHTTP1
import Testing

/// The request side's own limits: its defaults. The limits both sides enforce are asserted for
/// requests in HTTPMessageLimitsTests.
@Suite("HTTPParserLimits")
struct HTTPParserLimitsTests {
    @Test("defaults")
    func defaults() {
        let limits = HTTPParserLimits()
        #expect(limits.maxRequestLineBytes == 8192)
        #expect(limits.maxHeaderBytes == 16384)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.maxBodyBytes == 1_048_576)
    }
}
