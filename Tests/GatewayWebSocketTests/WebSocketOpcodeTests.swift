import GatewayWebSocket
import Testing

@Suite struct WebSocketOpcodeTests {
    @Test func rawValuesAndControl() {
        let expected: [(WebSocketOpcode, UInt8, Bool)] = [
            (.continuation, 0, false), (.text, 1, false), (.binary, 2, false), (.close, 8, true), (.ping, 9, true), (.pong, 10, true),
        ]
        for (opcode, raw, control) in expected {
            #expect(opcode.rawValue == raw)
            #expect(opcode.isControl == control)
            #expect(WebSocketOpcode(rawValue: raw) == opcode)
        }
        for reserved: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            #expect(WebSocketOpcode(rawValue: reserved) == nil)
        }
    }
}
