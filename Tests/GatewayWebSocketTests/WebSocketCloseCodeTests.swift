import GatewayWebSocket
import Testing

@Suite struct WebSocketCloseCodeTests {
    @Test func namedConstants() {
        let named: [(WebSocketCloseCode, UInt16)] = [
            (.normalClosure, 1000), (.goingAway, 1001), (.protocolError, 1002), (.unsupportedData, 1003), (.noStatus, 1005),
            (.abnormal, 1006), (.invalidPayload, 1007), (.policyViolation, 1008), (.messageTooBig, 1009),
            (.mandatoryExtension, 1010), (.internalError, 1011), (.serviceRestart, 1012), (.tryAgainLater, 1013), (.badGateway, 1014),
        ]
        for (code, raw) in named { #expect(code.rawValue == raw) }
        #expect(WebSocketCloseCode.normalClosure.description == "1000 (normal closure)")
        #expect(WebSocketCloseCode(rawValue: 4000).description == "4000")
    }

    @Test func validReceivedCodesOverTheWholeRange() {
        for code in UInt16.min...UInt16.max {
            let expected = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
            if WebSocketCloseCode.isValidReceived(code) != expected {
                Issue.record("code \(code)")
            }
        }
        for invalid: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            #expect(!WebSocketCloseCode.isValidReceived(invalid))
        }
    }
}
