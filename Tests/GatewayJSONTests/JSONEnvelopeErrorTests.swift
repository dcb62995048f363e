import GatewayJSON
import Testing

@Suite struct JSONEnvelopeErrorTests {
    @Test func descriptions() {
        let cases: [(JSONEnvelopeError, String)] = [
            (.invalidJSON(JSONError(.trailingCharacters, at: 3)), "invalid JSON: trailing characters after the value at offset 3"),
            (.notAnObject, "message is not a JSON object"),
            (.missingCmd, "missing \"cmd\""),
            (.cmdNotString(offset: 7), "\"cmd\" must be a string (offset 7)"),
            (.emptyCmd(offset: 7), "\"cmd\" must not be empty (offset 7)"),
            (.idNotStringOrNumber(offset: 16), "\"id\" must be a string or a number (offset 16)"),
            (.duplicateKey(.cmd, offset: 11), "duplicate \"cmd\" at offset 11"),
            (.duplicateKey(.id, offset: 2), "duplicate \"id\" at offset 2"),
            (.duplicateKey(.data, offset: 5), "duplicate \"data\" at offset 5"),
        ]
        for (error, text) in cases {
            #expect(error.description == text)
        }
    }

    @Test func memberNames() {
        #expect(JSONEnvelopeError.Member.cmd.rawValue == "cmd")
        #expect(JSONEnvelopeError.Member.id.rawValue == "id")
        #expect(JSONEnvelopeError.Member.data.rawValue == "data")
    }

    @Test func equality() {
        #expect(JSONEnvelopeError.emptyCmd(offset: 1) != .emptyCmd(offset: 2))
        #expect(JSONEnvelopeError.duplicateKey(.id, offset: 1) != .duplicateKey(.data, offset: 1))
        #expect(JSONEnvelopeError.invalidJSON(JSONError(.invalidNumber, at: 0)) == .invalidJSON(JSONError(.invalidNumber, at: 0)))
    }
}
